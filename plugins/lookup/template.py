"""Lookup plugin: ansible.builtin.template without a deep copy of every variable per file (see
DOCUMENTATION)."""

from __future__ import annotations

DOCUMENTATION = r"""
name: template
short_description: Render a template file, as ansible.builtin.template does, sharing the variables
description:
  - Renders each file as the lookup C(ansible.builtin.template) does (the same search path,
    options, C(ansible_managed) and C(template_*) variables, the same result). That lookup
    copies every variable of the host, deeply, for each file it renders, so that the template
    cannot change them; with the variables of a whole inventory in reach that copy is most of
    what rendering a small file costs (about 25 ms of the controller's CPU per file and host
    here).
  - This one gives the file a copy of the variables' top level instead, to which the
    C(ansible_managed), C(template_*) and O(template_vars) variables are added. The values are
    shared, so a template that changes a list or a dictionary in place (the C(do) extension)
    would change the host's variable; the roles' templates change nothing.
options:
  _terms:
    description: The template files, found as ansible.builtin.template finds them.
  template_vars:
    description: Variables to add to the template's.
    type: dict
    default: {}
  convert_data:
    description: As ansible.builtin.template's (ansible-core before 2.19).
    type: bool
    default: true
  jinja2_native:
    description: As ansible.builtin.template's (ansible-core before 2.19).
    type: bool
    default: false
  variable_start_string:
    description: The string that starts a variable.
    type: str
    default: "{{"
  variable_end_string:
    description: The string that ends a variable.
    type: str
    default: "}}"
  comment_start_string:
    description: The string that starts a comment.
    type: str
    default: "{#"
  comment_end_string:
    description: The string that ends a comment.
    type: str
    default: "#}"
  trim_blocks:
    description: Remove the first newline after a block.
    type: bool
    default: true
seealso:
  - plugin: ansible.builtin.template
    plugin_type: lookup
"""

EXAMPLES = r"""
- name: The configuration a host would get
  ansible.builtin.debug:
    msg: "{{ lookup('zkops.zookeeper34.template', 'zoo.cfg.j2') }}"
"""

RETURN = r"""
_raw:
  description: The rendered files, one string each.
  type: list
  elements: raw
"""

from typing import Any

from ansible.plugins.lookup import template as builtin_template
from ansible_collections.zkops.zookeeper34.plugins.plugin_utils.rendered_once import top_level


class _TopLevelCopied(dict):
    """The host's variables, one level deep: what ansible.builtin.template deep-copies."""

    def __deepcopy__(self, memo: dict) -> dict:
        return dict(self)


class LookupModule(builtin_template.LookupModule):
    """zkops.zookeeper34.template"""

    def run(self, terms: list, variables: Any = None, **kwargs: Any) -> list:
        shared = None if variables is None else _TopLevelCopied(top_level(variables))
        return super().run(terms, variables=shared, **kwargs)
