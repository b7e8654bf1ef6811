"""What each pipeline method does when a script calls it.

Keys are (declaring Go struct, method name) from :mod:`catalog`; values are
``fn(evaluator, obj, args, member)``.  Chaining methods create child nodes,
property methods record Kapacitor's Go field values on the node (or on the
alert handler being configured), and return the Go result type's view.
"""

import attr

from kapacitord_tw.tick import catalog
from kapacitord_tw.tick import syntax as ast
from kapacitord_tw.tick.durations import Duration
from kapacitord_tw.tick.goerrors import GoPanic
from kapacitord_tw.tick.lexer import T
from kapacitord_tw.tick.values import GoObject, Opaque, TypedNil, \
    display_go_type

STREAM, BATCH, SAME = catalog.STREAM, catalog.BATCH, catalog.SAME

#: Returned by implementations of Go methods without a result.
NO_RESULT = object()

#: (declaring struct, method) -> fn(evaluator, obj, args, member)
IMPLEMENTATIONS = {}


def _impl(*keys):
    def register(fn):
        for key in keys:
            IMPLEMENTATIONS[key] = fn
        return fn
    return register


def _handler_field(method_name):
    for field in catalog.GO_TYPES["AlertNodeData"].fields:
        if field.tick == method_name:
            return field.name
    raise KeyError(method_name)


def _store(obj, owner):
    """Where a property method declared on ``owner`` keeps its fields."""
    if obj.handler is not None and owner == obj.type_name:
        return obj.handler
    return obj.node.props


def _flag(field):
    def apply(ev, obj, args, member):
        _store(obj, member.owner)[field] = True
        return obj_return(obj, member)
    return apply


def _set(field, as_list=True):
    def apply(ev, obj, args, member):
        _store(obj, member.owner)[field] = list(args) if as_list else args[0]
        return obj_return(obj, member)
    return apply


def _append(field):
    def apply(ev, obj, args, member):
        _store(obj, member.owner).setdefault(field, []).extend(args)
        return obj_return(obj, member)
    return apply


def _map(field):
    def apply(ev, obj, args, member):
        _store(obj, member.owner).setdefault(field, {})[args[0]] = args[1]
        return obj_return(obj, member)
    return apply


def obj_return(obj, member):
    """The view a property method returns (its Go result type)."""
    returns = member.member.returns
    if not returns:
        return NO_RESULT
    type_name = returns.lstrip("*")
    return GoObject(type_name, obj.node,
                    obj.handler if type_name == obj.type_name else
                    (None if type_name in catalog.NODE_DESCS
                     or type_name == "AlertNodeData" else obj.handler))


for _owner, _method, _fn in [
        ("node", "Quiet", _flag("QuietFlag")),
        ("FromNode", "GroupBy", _set("Dimensions")),
        ("FromNode", "GroupByMeasurement", _flag("GroupByMeasurementFlag")),
        ("QueryNode", "GroupBy", _set("Dimensions")),
        ("QueryNode", "GroupByMeasurement", _flag("GroupByMeasurementFlag")),
        ("QueryNode", "Align", _flag("AlignFlag")),
        ("QueryNode", "AlignGroup", _flag("AlignGroupFlag")),
        ("QueryFluxNode", "Align", _flag("AlignFlag")),
        ("GroupByNode", "ByMeasurement", _flag("ByMeasurementFlag")),
        ("GroupByNode", "Exclude", _append("ExcludedDimensions")),
        ("AlertNodeData", "All", _flag("AllFlag")),
        ("AlertNodeData", "NoRecoveries", _flag("NoRecoveriesFlag")),
        ("AlertHTTPPostHandler", "Header", _map("Headers")),
        ("AlertHTTPPostHandler", "CaptureResponse",
         _flag("CaptureResponseFlag")),
        ("AlertHTTPPostHandler", "SkipSSLVerification",
         _flag("SkipSSLVerificationFlag")),
        ("EmailHandler", "To", _append("ToList")),
        ("EmailHandler", "ToTemplates", _append("ToTemplatesList")),
        ("AlertaHandler", "Services", _set("Service")),
        ("AlertaHandler", "Correlated", _set("Correlate")),
        ("AlertaHandler", "Attribute", _map("Attributes")),
        ("BigPandaHandler", "Attribute", _map("Attributes")),
        ("SensuHandler", "Handlers", _set("HandlersList")),
        ("SensuHandler", "Metadata", _map("MetadataMap")),
        ("TelegramHandler", "DisableNotification",
         _flag("IsDisableNotification")),
        ("TelegramHandler", "DisableWebPagePreview",
         _flag("IsDisableWebPagePreview")),
        ("OpsGenieHandler", "Teams", _set("TeamsList")),
        ("OpsGenieHandler", "Recipients", _set("RecipientsList")),
        ("OpsGenie2Handler", "Teams", _set("TeamsList")),
        ("OpsGenie2Handler", "Recipients", _set("RecipientsList")),
        ("OpsGenie2Handler", "RecoveryAction",
         _set("RecoveryActionString", as_list=False)),
        ("OpsGenie2Handler", "Details", _flag("IsDetails")),
        ("PagerDuty2Handler", "ServiceKey", _set("RoutingKey", as_list=False)),
        ("KafkaHandler", "DisablePartitionById",
         _flag("IsDisablePartitionById")),
        ("ServiceNowHandler", "AdditionalInfo", _map("AdditionalInfoMap")),
        ("ZenossHandler", "CustomField", _map("CustomFieldsMap")),
        ("CombineNode", "As", _set("Names")),
        ("DefaultNode", "Field", _map("Fields")),
        ("DefaultNode", "Tag", _map("Tags")),
        ("DeleteNode", "Field", _append("Fields")),
        ("DeleteNode", "Tag", _append("Tags")),
        ("DerivativeNode", "NonNegative", _flag("NonNegativeFlag")),
        ("EvalNode", "As", _set("AsList")),
        ("EvalNode", "Tags", _set("TagsList")),
        ("FlattenNode", "On", _set("Dimensions")),
        ("HTTPPostNode", "Endpoint", _append("Endpoints")),
        ("HTTPPostNode", "Header", _map("Headers")),
        ("HTTPPostNode", "CaptureResponse", _flag("CaptureResponseFlag")),
        ("InfluxDBOutNode", "Tag", _map("Tags")),
        ("InfluxDBOutNode", "Create", _flag("CreateFlag")),
        ("InfluxQLNode", "UsePointTimes", _flag("PointTimes")),
        ("JoinNode", "As", _set("Names")),
        ("JoinNode", "On", _set("Dimensions")),
        ("KapacitorLoopbackNode", "Tag", _map("Tags")),
        ("SideloadNode", "Order", _set("OrderList")),
        ("SideloadNode", "Field", _map("Fields")),
        ("SideloadNode", "Tag", _map("Tags")),
        ("StatsNode", "Align", _flag("AlignFlag")),
        ("WindowNode", "Align", _flag("AlignFlag")),
        ("WindowNode", "FillPeriod", _flag("FillPeriodFlag")),
]:
    IMPLEMENTATIONS[(_owner, _method)] = _fn


_NIL_DEREFERENCE = ("runtime error: invalid memory address or nil pointer "
                    "dereference")


def lambda_expression(lambda_):
    if isinstance(lambda_, TypedNil):
        raise GoPanic(_NIL_DEREFERENCE)
    return lambda_.expression


@_impl(("FromNode", "Where"))
def _from_where(ev, obj, args, member):
    lambda_ = args[0]
    current = obj.node.props.get("Lambda")
    if current is not None:
        lambda_expression(current)
        lambda_expression(lambda_)
        combined = ast.BinaryNode(ast.Position(), T.AND, current.expression,
                                  lambda_.expression)
        obj.node.props["Lambda"] = attr.evolve(current, expression=combined)
    else:
        obj.node.props["Lambda"] = lambda_
    return obj_return(obj, member)


@_impl(("EvalNode", "Keep"))
def _eval_keep(ev, obj, args, member):
    obj.node.props["KeepFlag"] = True
    obj.node.props["KeepList"] = list(args)
    return obj_return(obj, member)


@_impl(("FlattenNode", "DropOriginalFieldName"))
def _drop_original(ev, obj, args, member):
    obj.node.props["DropOriginalFieldNameFlag"] = \
        args[0] if len(args) == 1 else True
    return obj_return(obj, member)


@_impl(("AlertNodeData", "StateChangesOnly"))
def _state_changes_only(ev, obj, args, member):
    obj.node.props["IsStateChangesOnly"] = True
    if len(args) == 1:
        obj.node.props["StateChangesOnlyDuration"] = args[0]
    return obj_return(obj, member)


@_impl(("AlertNodeData", "Flapping"))
def _flapping(ev, obj, args, member):
    obj.node.props.update(UseFlapping=True, FlapLow=args[0], FlapHigh=args[1])
    return obj_return(obj, member)


@_impl(("AlertNodeData", "Inhibit"))
def _inhibit(ev, obj, args, member):
    obj.node.props.setdefault("Inhibitors", []).append(
        {"Category": args[0], "EqualTags": list(args[1:])})
    return obj_return(obj, member)


@_impl(("SNMPTrapHandler", "Data"))
def _snmp_data(ev, obj, args, member):
    obj.handler.setdefault("DataList", []).append(
        {"Oid": args[0], "Type": args[1], "Value": args[2]})
    return obj_return(obj, member)


@_impl(("PagerDuty2Handler", "Link"))
def _pd2_link(ev, obj, args, member):
    obj.handler.setdefault("Links", []).append(
        {"Href": args[0], "Text": args[1] if len(args) > 1 else ""})
    return obj_return(obj, member)


_HANDLER_INIT = {
    "Post": lambda args: {"URL": args[0]} if args else {},
    "Tcp": lambda args: {"Address": args[0]},
    "Email": lambda args: {"ToList": list(args)},
    "Exec": lambda args: {"Command": list(args)},
    "Log": lambda args: {"FilePath": args[0]},
    "Mqtt": lambda args: {"Topic": args[0]},
    "SnmpTrap": lambda args: {"TrapOid": args[0]},
}


def _alert_handler(ev, obj, args, member):
    method = member.member
    handler = dict(_HANDLER_INIT.get(method.name, lambda a: {})(args))
    obj.node.props.setdefault(_handler_field(method.name), []).append(handler)
    return GoObject(method.returns.lstrip("*"), obj.node, handler)


for _m in catalog.GO_TYPES["AlertNodeData"].methods:
    if _m.returns.endswith("Handler"):
        IMPLEMENTATIONS[("AlertNodeData", _m.name)] = _alert_handler


# -- chaining methods -------------------------------------------------------

def _child(type_name, make_props=None):
    def apply(ev, obj, args, member):
        props = make_props(args) if make_props else {}
        return ev.add_child(obj, type_name, props=props)
    return apply


for _owner, _method, _fn in [
        ("StreamNode", "From", _child("FromNode")),
        ("FromNode", "From", _child("FromNode")),
        ("BatchNode", "Query", _child("QueryNode",
                                      lambda a: {"QueryStr": a[0]})),
        ("BatchNode", "QueryFlux", _child("QueryFluxNode",
                                          lambda a: {"QueryStr": a[0]})),
        ("chainnode", "Where", _child("WhereNode",
                                      lambda a: {"Lambda": a[0]})),
        ("chainnode", "HttpOut", _child("HTTPOutNode",
                                        lambda a: {"Endpoint": a[0]})),
        ("chainnode", "HttpPost", _child("HTTPPostNode",
                                         lambda a: {"URLs": list(a)})),
        ("chainnode", "InfluxDBOut", _child("InfluxDBOutNode")),
        ("chainnode", "KapacitorLoopback", _child("KapacitorLoopbackNode")),
        ("chainnode", "Alert", _child("AlertNode")),
        ("chainnode", "Combine", _child("CombineNode",
                                        lambda a: {"Lambdas": list(a)})),
        ("chainnode", "Flatten", _child("FlattenNode")),
        ("chainnode", "Eval", _child("EvalNode",
                                     lambda a: {"Lambdas": list(a)})),
        ("chainnode", "GroupBy", _child("GroupByNode",
                                        lambda a: {"Dimensions": list(a)})),
        ("chainnode", "Barrier", _child("BarrierNode")),
        ("chainnode", "Derivative", _child(
            "DerivativeNode", lambda a: {"Field": a[0], "As": a[0]})),
        ("chainnode", "ChangeDetect", _child("ChangeDetectNode",
                                             lambda a: {"Fields": list(a)})),
        ("chainnode", "Shift", _child("ShiftNode", lambda a: {"Shift": a[0]})),
        ("chainnode", "Log", _child("LogNode")),
        ("chainnode", "Default", _child("DefaultNode")),
        ("chainnode", "Delete", _child("DeleteNode")),
        ("chainnode", "K8sAutoscale", _child("K8sAutoscaleNode")),
        ("chainnode", "SwarmAutoscale", _child("SwarmAutoscaleNode")),
        ("chainnode", "Ec2Autoscale", _child("Ec2AutoscaleNode")),
        ("chainnode", "StateDuration", _child("StateDurationNode",
                                              lambda a: {"Lambda": a[0]})),
        ("chainnode", "StateCount", _child("StateCountNode",
                                           lambda a: {"Lambda": a[0]})),
        ("chainnode", "Sideload", _child("SideloadNode")),
]:
    IMPLEMENTATIONS[(_owner, _method)] = _fn


@_impl(("chainnode", "Window"))
def _window(ev, obj, args, member):
    if obj.node.provides != STREAM:
        raise GoPanic("cannot Window batch edge")
    return ev.add_child(obj, "WindowNode")


@_impl(("chainnode", "Trickle"))
def _trickle(ev, obj, args, member):
    if obj.node.provides != BATCH:
        raise GoPanic("cannot Trickle stream edge")
    return ev.add_child(obj, "TrickleNode")


@_impl(("chainnode", "Sample"))
def _sample(ev, obj, args, member):
    rate = args[0]
    if isinstance(rate, bool) or not isinstance(rate, (int, Duration)):
        raise GoPanic("must pass int64 or duration to new sample node")
    props = {"N": rate, "Duration": Duration(0)} if isinstance(rate, int) \
        else {"N": 0, "Duration": rate}
    return ev.add_child(obj, "SampleNode", props=props)


@_impl(("chainnode", "Union"))
def _union(ev, obj, args, member):
    node = ev.new_node("UnionNode", obj.node.provides)
    for other in args:
        other.node.link_child(node)
    obj.node.link_child(node)
    return GoObject("UnionNode", node)


@_impl(("chainnode", "Join"))
def _join(ev, obj, args, member):
    node = ev.new_node("JoinNode", obj.node.provides)
    for parent in [obj] + list(args):
        parent.node.link_child(node)
    return GoObject("JoinNode", node)


@_impl(("node", "Stats"))
def _stats(ev, obj, args, member):
    return ev.stats(obj, args[0])


@_impl(("node", "Deadman"))
def _deadman(ev, obj, args, member):
    return ev.deadman(obj, args[0], args[1], args[2:])


def _influxql(ev, obj, args, member):
    name = member.member.name
    desc, provides = catalog.INFLUXQL_FUNCTIONS[name]
    props = {"Method": desc, "As": desc}
    if name in ("Top", "Bottom"):
        props.update(Field=args[1], Args=[args[0]] + list(args[2:]))
    else:
        props["Field"] = args[0]
    if name == "Percentile":
        props["Args"] = [args[1]]
    elif name in ("Elapsed", "MovingAverage"):
        props["Args"] = [args[1]]
    elif name in ("HoltWinters", "HoltWintersWithFit"):
        props.update(PointTimes=True,
                     Args=[args[1], args[2], args[3],
                           name == "HoltWintersWithFit"])
    parent = obj.node.provides
    node = ev.graph.new_node("InfluxQLNode", desc, parent,
                             parent if provides == SAME else provides, props)
    obj.node.link_child(node)
    return GoObject("InfluxQLNode", node)


for _name in catalog.INFLUXQL_FUNCTIONS:
    IMPLEMENTATIONS[("chainnode", _name)] = _influxql


def generic_impl(member):
    """Exported methods with no pipeline effect (Desc, Name, ID ...)."""
    name = member.member.name

    def apply(ev, obj, args, m):
        node = obj.node
        if name == "Desc":
            return node.desc
        if name == "Name":
            return node.name()
        if name == "IsQuiet":
            return bool(node.props.get("QuietFlag"))
        if name == "SetName":
            node._name = args[0]
            return NO_RESULT
        if name == "ID":
            return Opaque("pipeline.ID", node.id)
        returns = m.member.returns
        if not returns or returns == "error":
            return NO_RESULT
        return Opaque(display_go_type(returns.strip("()").split(",")[0]))
    return apply
