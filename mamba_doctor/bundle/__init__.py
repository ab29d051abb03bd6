"""`mamba-doctor bundle`: everything an offline server needs, and the single-file zipapp."""
