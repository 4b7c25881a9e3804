"""The JupyterHub managed service ``spark-broker``: every user's sessions for the site's operators
(a page and an API at ``/services/spark-broker/``), and the fleet-wide reaper that ends the sessions
of servers the Hub culled or stopped. Run by the Hub as ``jupyter-spark-broker hub-service``."""
