"""Run CaDIS Studio: `python main.py [SOURCE] [--project DIR] [--screenshot PATH] [--reset-settings]`."""
import sys

from desktop.app import main

if __name__ == "__main__":
    sys.exit(main())
