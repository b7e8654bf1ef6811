"""Which names an object answers to, by Kapacitor's reflection rules.

Given a Go struct from :mod:`~kapacitord_tw.tick.catalog`, compute:

* property methods: methods named by a field's ``tick`` tag (resolved on
  the nearest *exported* enclosing struct; own fields win over embedded);
* properties: other exported fields, set directly;
* chaining methods: every other exported method, including ones promoted
  from (or shadowed inside) embedded structs, plus ``ChainMethods()``.

Names are looked up with the first letter upper-cased, as Kapacitor does.
"""

import functools

import attr

from kapacitord_tw.tick.catalog import GO_TYPES, PARTIAL_CHAIN_METHODS


@attr.s(frozen=True, slots=True)
class Member:
    owner = attr.ib()  # the struct declaring it
    member = attr.ib()  # catalog.M or catalog.F


@attr.s(frozen=True, slots=True)
class Description:
    type_name = attr.ib()
    chain_methods = attr.ib()  # name -> Member(M)
    property_methods = attr.ib()  # name -> Member(M)
    properties = attr.ib()  # name -> Member(F)

    @property
    def go_type(self):
        return "*pipeline." + self.type_name

    def has_chain_method(self, name):
        return capitalize_first(name) in self.chain_methods

    def has_property(self, name):
        name = capitalize_first(name)
        return name in self.property_methods or name in self.properties


class InvalidReference(Exception):
    pass


def capitalize_first(name):
    return name[:1].upper() + name[1:]


def _embedded_names(type_name):
    return [e.lstrip("*") for e in GO_TYPES[type_name].embeds]


@functools.lru_cache(maxsize=None)
def method_set(type_name):
    """Exported methods reachable on ``*T`` under Go's promotion rules."""
    result = {}
    blocked = set()
    level = [type_name]
    while level:
        found = {}
        for tname in level:
            go_type = GO_TYPES[tname]
            for field in go_type.fields:
                found.setdefault(field.name, []).append(Member(tname, field))
            for embed in _embedded_names(tname):
                found.setdefault(embed, []).append(Member(tname, None))
            for method in go_type.methods:
                found.setdefault(method.name, []).append(Member(tname, method))
        for name, members in found.items():
            if name in result or name in blocked:
                continue
            if len(members) != 1 or members[0].member is None or \
                    not hasattr(members[0].member, "params"):
                blocked.add(name)  # field, embedded struct, or ambiguous
                continue
            result[name] = members[0]
        level = [e for tname in level for e in _embedded_names(tname)]
    return result


def _properties(type_name, exported):
    props = {}
    prop_methods = {}
    go_type = GO_TYPES[type_name]
    for embed in _embedded_names(type_name):
        anon_exported = embed if embed[0].isupper() else exported
        sub_props, sub_methods = _properties(embed, anon_exported)
        for key, value in sub_props.items():
            props.setdefault(key, value)
        for key, value in sub_methods.items():
            prop_methods.setdefault(key, value)
    for field in go_type.fields:
        if field.tick:
            method = method_set(exported).get(field.tick)
            if method is None:
                raise InvalidReference(
                    "referenced method %s for type %s is invalid"
                    % (field.tick, type_name))
            prop_methods[field.tick] = method
        elif field.name[:1].isupper():
            props[field.name] = Member(type_name, field)
    return props, prop_methods


def _chain_methods(type_name, prop_methods):
    chain = {name: member for name, member in method_set(type_name).items()
             if name not in prop_methods}
    for embed in _embedded_names(type_name):
        for name, member in _chain_methods(embed, prop_methods).items():
            chain.setdefault(name, member)
    return chain


@functools.lru_cache(maxsize=None)
def describe(type_name):
    props, prop_methods = _properties(type_name, type_name)
    chain = _chain_methods(type_name, prop_methods)
    partial = method_set(type_name).get("ChainMethods")
    if partial is not None:
        for name, (owner, method_name) in \
                PARTIAL_CHAIN_METHODS[partial.owner].items():
            method = next(m for m in GO_TYPES[owner].methods
                          if m.name == method_name)
            chain[name] = Member(owner, method)
    return Description(type_name, chain, prop_methods, props)
