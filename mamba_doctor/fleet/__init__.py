"""`fleet`: ask every kind of node of a SLURM cluster whether the environment runs there.

Pure parts: `sinfo` (parse the node list), `groups` (which nodes are alike, which to ask),
`srun` (the job command lines and what a job's output says), `merge` (per-node reports into
per-group rows), `advice` (one sentence per outcome, the `#SBATCH` lines). Edges: `launch`
(sinfo, srun, squeue, scancel through `_run`), `doctor` (the program the nodes run), `view`.
"""
