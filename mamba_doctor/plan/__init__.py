"""`mamba-doctor plan`: the newest fully prebuilt stack for a machine, and how to create it."""
