"""What `make test` runs besides pytest and Molecule: the scenario runner (molecule-scenarios),
ansible-test sanity on the checkout (sanity), the generated variable reference (role_docs), the
ansible-core matrix (core_matrix), the collection's build (galaxy), and the tests of the built
collection, its execution environment and the docs' links."""
