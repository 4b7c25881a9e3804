"""``jupyter spark-broker``: commands around the broker that are not the server itself."""

from __future__ import annotations

from jupyter_core.application import JupyterApp
from traitlets import Bool, Unicode

from ._version import __version__


class InstallKernelsApp(JupyterApp):
    name = "jupyter-spark-broker-install-kernels"
    version = __version__
    description = (
        'Install the kernelspecs "PySpark (broker)", "Spark (broker)" and "SparkR (broker)". '
        "By default into this Python's prefix, as pip install does."
    )
    user = Bool(False, config=True, help="Install for the current user only.")
    prefix = Unicode(None, allow_none=True, config=True, help="Install under this prefix.")
    profile = Unicode(
        None,
        allow_none=True,
        config=True,
        help='Kernels of this broker profile: "PySpark (broker) – NAME" and so on.',
    )
    flags = {"user": ({"InstallKernelsApp": {"user": True}}, user.help)}
    aliases = {"prefix": "InstallKernelsApp.prefix", "profile": "InstallKernelsApp.profile"}

    def start(self) -> None:
        from .kernel.install import install_kernels

        try:
            # jupyter_client logs each one
            install_kernels(user=self.user, prefix=self.prefix, profile=self.profile)
        except ValueError as error:
            self.exit(str(error))


class SparkBrokerCommand(JupyterApp):
    name = "jupyter-spark-broker"
    version = __version__
    description = "Commands of the Jupyter Spark broker."
    subcommands = {
        "install-kernels": (InstallKernelsApp, InstallKernelsApp.description),
    }

    def start(self) -> None:
        if self.subapp is None:
            self.print_help()
            self.exit("Give a command: install-kernels")
        super().start()


main = SparkBrokerCommand.launch_instance

if __name__ == "__main__":
    main()
