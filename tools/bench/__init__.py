"""`make bench` (`python -m bench`): the figures against their targets (run), the floors they are
divided by (floors), the fleet mode (fleet), the bench lab and its runs (lab), the statistics and
table (figures), and the task_timing callback that profiles every run."""
