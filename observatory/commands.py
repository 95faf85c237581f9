"""Feature commands register here, so cli.py stays one list: import each feature's cli module."""
