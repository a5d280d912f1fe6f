"""Entry point of the bundled desktop (PyInstaller): the typer app of desktop/cli.py."""

from desktop.cli import app

if __name__ == "__main__":
    app()
