"""index_update: the GitHub Releases and PyPI JSON APIs, read into the index overlay."""
