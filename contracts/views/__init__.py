"""Views by workflow; urls.py imports the modules directly."""
