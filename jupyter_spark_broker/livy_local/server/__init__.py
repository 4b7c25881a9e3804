"""The local Livy's HTTP side: Livy's paths, filters, status codes and error bodies, and serving them."""
