"""Instruments the Molecule tests and the bench use against a lab's ensemble: a writing client with
a ledger (zk_traffic), a register recorder (zk_register) with its linearizability check
(linearizable), and the reading of ansible-playbook's output (playbook_output)."""
