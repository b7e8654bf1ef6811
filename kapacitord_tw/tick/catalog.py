"""The pipeline node catalog, declared as data.

Kapacitor discovers what a TICKscript may call by reflecting over the Go
structs of its ``pipeline`` package: exported methods are chaining methods
(``|``), methods named in a field's ``tick:"..."`` tag are property methods
(``.``), other exported fields are properties set directly with ``.name(v)``,
and embedded structs contribute their members.  This module records those
structs (names, Go parameter/return types, tags) for Kapacitor 1.8 so the
evaluator can apply the same lookup rules and produce the same messages.

``GO_TYPES`` maps a Go struct name to its embedded structs, fields and
declared exported methods.  Parameter types are Go spellings; a method
whose last parameter is variadic has ``variadic=True`` and lists the
element type last.  ``returns`` is the Go result type ('' for none).
"""

import attr


@attr.s(frozen=True, slots=True)
class F:
    """A struct field: Go name, Go type, and the ``tick`` tag (method name)."""

    name = attr.ib()
    type = attr.ib()
    tick = attr.ib(default="")


@attr.s(frozen=True, slots=True)
class M:
    """An exported method declared on the struct (pointer receiver)."""

    name = attr.ib()
    params = attr.ib()
    variadic = attr.ib()
    returns = attr.ib()


@attr.s(frozen=True, slots=True)
class GoType:
    embeds = attr.ib()
    fields = attr.ib()
    methods = attr.ib()


GO_TYPES = {
    'AlertHTTPPostHandler': GoType(
        embeds=('*AlertNodeData',),
        fields=(
            F('URL', 'string', ''),
            F('Endpoint', 'string', ''),
            F('Headers', 'map[string]string', 'Header'),
            F('CaptureResponseFlag', 'bool', 'CaptureResponse'),
            F('Timeout', 'time.Duration', ''),
            F('SkipSSLVerificationFlag', 'bool', 'SkipSSLVerification'),
        ),
        methods=(
            M('Header', ('string', 'string'), False, '*AlertHTTPPostHandler'),
            M('CaptureResponse', (), False, '*AlertHTTPPostHandler'),
            M('SkipSSLVerification', (), False, '*AlertHTTPPostHandler'),
        ),
    ),
    'AlertNode': GoType(
        embeds=('*AlertNodeData',),
        fields=(
        ),
        methods=(
            M('MarshalJSON', (), False, '([]byte, error)'),
            M('UnmarshalJSON', ('[]byte',), False, 'error'),
        ),
    ),
    'AlertNodeData': GoType(
        embeds=('chainnode',),
        fields=(
            F('Category', 'string', ''),
            F('Topic', 'string', ''),
            F('Id', 'string', ''),
            F('Message', 'string', ''),
            F('Details', 'string', ''),
            F('Info', '*ast.LambdaNode', ''),
            F('Warn', '*ast.LambdaNode', ''),
            F('Crit', '*ast.LambdaNode', ''),
            F('InfoReset', '*ast.LambdaNode', ''),
            F('WarnReset', '*ast.LambdaNode', ''),
            F('CritReset', '*ast.LambdaNode', ''),
            F('UseFlapping', 'bool', 'Flapping'),
            F('FlapLow', 'float64', ''),
            F('FlapHigh', 'float64', ''),
            F('History', 'int64', ''),
            F('LevelTag', 'string', ''),
            F('LevelField', 'string', ''),
            F('MessageField', 'string', ''),
            F('DurationField', 'string', ''),
            F('IdTag', 'string', ''),
            F('IdField', 'string', ''),
            F('AllFlag', 'bool', 'All'),
            F('NoRecoveriesFlag', 'bool', 'NoRecoveries'),
            F('IsStateChangesOnly', 'bool', 'StateChangesOnly'),
            F('StateChangesOnlyDuration', 'time.Duration', ''),
            F('Inhibitors', '[]Inhibitor', 'Inhibit'),
            F('HTTPPostHandlers', '[]*AlertHTTPPostHandler', 'Post'),
            F('TcpHandlers', '[]*TcpHandler', 'Tcp'),
            F('EmailHandlers', '[]*EmailHandler', 'Email'),
            F('ExecHandlers', '[]*ExecHandler', 'Exec'),
            F('LogHandlers', '[]*LogHandler', 'Log'),
            F('VictorOpsHandlers', '[]*VictorOpsHandler', 'VictorOps'),
            F('PagerDutyHandlers', '[]*PagerDutyHandler', 'PagerDuty'),
            F('PagerDuty2Handlers', '[]*PagerDuty2Handler', 'PagerDuty2'),
            F('PushoverHandlers', '[]*PushoverHandler', 'Pushover'),
            F('SensuHandlers', '[]*SensuHandler', 'Sensu'),
            F('SlackHandlers', '[]*SlackHandler', 'Slack'),
            F('DiscordHandlers', '[]*DiscordHandler', 'Discord'),
            F('BigPandaHandlers', '[]*BigPandaHandler', 'BigPanda'),
            F('TelegramHandlers', '[]*TelegramHandler', 'Telegram'),
            F('HipChatHandlers', '[]*HipChatHandler', 'HipChat'),
            F('AlertaHandlers', '[]*AlertaHandler', 'Alerta'),
            F('OpsGenieHandlers', '[]*OpsGenieHandler', 'OpsGenie'),
            F('OpsGenie2Handlers', '[]*OpsGenie2Handler', 'OpsGenie2'),
            F('TalkHandlers', '[]*TalkHandler', 'Talk'),
            F('MQTTHandlers', '[]*MQTTHandler', 'Mqtt'),
            F('SNMPTrapHandlers', '[]*SNMPTrapHandler', 'SnmpTrap'),
            F('KafkaHandlers', '[]*KafkaHandler', 'Kafka'),
            F('TeamsHandlers', '[]*TeamsHandler', 'Teams'),
            F('ServiceNowHandlers', '[]*ServiceNowHandler', 'ServiceNow'),
            F('ZenossHandlers', '[]*ZenossHandler', 'Zenoss'),
        ),
        methods=(
            M('ChainMethods', (), False, 'map[string]reflect.Value'),
            M('All', (), False, '*AlertNodeData'),
            M('NoRecoveries', (), False, '*AlertNodeData'),
            M('StateChangesOnly', ('time.Duration',), True, '*AlertNodeData'),
            M('Flapping', ('float64', 'float64'), False, '*AlertNodeData'),
            M('Inhibit', ('string', 'string'), True, '*AlertNodeData'),
            M('Post', ('string',), True, '*AlertHTTPPostHandler'),
            M('Tcp', ('string',), False, '*TcpHandler'),
            M('Email', ('string',), True, '*EmailHandler'),
            M('Exec', ('string', 'string'), True, '*ExecHandler'),
            M('Log', ('string',), False, '*LogHandler'),
            M('VictorOps', (), False, '*VictorOpsHandler'),
            M('PagerDuty', (), False, '*PagerDutyHandler'),
            M('PagerDuty2', (), False, '*PagerDuty2Handler'),
            M('HipChat', (), False, '*HipChatHandler'),
            M('Alerta', (), False, '*AlertaHandler'),
            M('Mqtt', ('string',), False, '*MQTTHandler'),
            M('Sensu', (), False, '*SensuHandler'),
            M('Pushover', (), False, '*PushoverHandler'),
            M('Slack', (), False, '*SlackHandler'),
            M('Discord', (), False, '*DiscordHandler'),
            M('BigPanda', (), False, '*BigPandaHandler'),
            M('Telegram', (), False, '*TelegramHandler'),
            M('OpsGenie', (), False, '*OpsGenieHandler'),
            M('OpsGenie2', (), False, '*OpsGenie2Handler'),
            M('Talk', (), False, '*TalkHandler'),
            M('SnmpTrap', ('string',), False, '*SNMPTrapHandler'),
            M('Kafka', (), False, '*KafkaHandler'),
            M('Teams', (), False, '*TeamsHandler'),
            M('ServiceNow', (), False, '*ServiceNowHandler'),
            M('Zenoss', (), False, '*ZenossHandler'),
        ),
    ),
    'AlertaHandler': GoType(
        embeds=('*AlertNodeData',),
        fields=(
            F('Token', 'string', ''),
            F('Resource', 'string', ''),
            F('Event', 'string', ''),
            F('Environment', 'string', ''),
            F('Group', 'string', ''),
            F('Value', 'string', ''),
            F('Origin', 'string', ''),
            F('Service', '[]string', 'Services'),
            F('Correlate', '[]string', 'Correlated'),
            F('Attributes', 'map[string]interface{}', 'Attribute'),
            F('Timeout', 'time.Duration', ''),
        ),
        methods=(
            M('Services', ('string',), True, '*AlertaHandler'),
            M('Correlated', ('string',), True, '*AlertaHandler'),
            M('Attribute', ('string', 'interface{}'), False, '*AlertaHandler'),
        ),
    ),
    'BarrierNode': GoType(
        embeds=('chainnode',),
        fields=(
            F('Idle', 'time.Duration', ''),
            F('Period', 'time.Duration', ''),
            F('Delete', 'bool', ''),
        ),
        methods=(
            M('MarshalJSON', (), False, '([]byte, error)'),
            M('UnmarshalJSON', ('[]byte',), False, 'error'),
            M('ChainMethods', (), False, 'map[string]reflect.Value'),
        ),
    ),
    'BatchNode': GoType(
        embeds=('node',),
        fields=(
        ),
        methods=(
            M('MarshalJSON', (), False, '([]byte, error)'),
            M('UnmarshalJSON', ('[]byte',), False, 'error'),
            M('Query', ('string',), False, '*QueryNode'),
            M('QueryFlux', ('string',), False, '*QueryFluxNode'),
        ),
    ),
    'BigPandaHandler': GoType(
        embeds=('*AlertNodeData',),
        fields=(
            F('AppKey', 'string', ''),
            F('Host', 'string', ''),
            F('PrimaryProperty', 'string', ''),
            F('SecondaryProperty', 'string', ''),
            F('Attributes', 'map[string]interface{}', 'Attribute'),
        ),
        methods=(
            M('Attribute', ('string', 'interface{}'), False, '*BigPandaHandler'),
        ),
    ),
    'ChangeDetectNode': GoType(
        embeds=('chainnode',),
        fields=(
            F('Fields', '[]string', ''),
        ),
        methods=(
            M('MarshalJSON', (), False, '([]byte, error)'),
            M('UnmarshalJSON', ('[]byte',), False, 'error'),
        ),
    ),
    'CombineNode': GoType(
        embeds=('chainnode',),
        fields=(
            F('Lambdas', '[]*ast.LambdaNode', ''),
            F('Names', '[]string', 'As'),
            F('Delimiter', 'string', ''),
            F('Tolerance', 'time.Duration', ''),
            F('Max', 'int64', ''),
        ),
        methods=(
            M('MarshalJSON', (), False, '([]byte, error)'),
            M('UnmarshalJSON', ('[]byte',), False, 'error'),
            M('As', ('string',), True, '*CombineNode'),
        ),
    ),
    'DefaultNode': GoType(
        embeds=('chainnode',),
        fields=(
            F('Fields', 'map[string]interface{}', 'Field'),
            F('Tags', 'map[string]string', 'Tag'),
        ),
        methods=(
            M('MarshalJSON', (), False, '([]byte, error)'),
            M('UnmarshalJSON', ('[]byte',), False, 'error'),
            M('Field', ('string', 'interface{}'), False, '*DefaultNode'),
            M('Tag', ('string', 'string'), False, '*DefaultNode'),
        ),
    ),
    'DeleteNode': GoType(
        embeds=('chainnode',),
        fields=(
            F('Fields', '[]string', 'Field'),
            F('Tags', '[]string', 'Tag'),
        ),
        methods=(
            M('MarshalJSON', (), False, '([]byte, error)'),
            M('UnmarshalJSON', ('[]byte',), False, 'error'),
            M('Field', ('string',), False, '*DeleteNode'),
            M('Tag', ('string',), False, '*DeleteNode'),
        ),
    ),
    'DerivativeNode': GoType(
        embeds=('chainnode',),
        fields=(
            F('Field', 'string', ''),
            F('As', 'string', ''),
            F('Unit', 'time.Duration', ''),
            F('NonNegativeFlag', 'bool', 'NonNegative'),
        ),
        methods=(
            M('MarshalJSON', (), False, '([]byte, error)'),
            M('UnmarshalJSON', ('[]byte',), False, 'error'),
            M('NonNegative', (), False, '*DerivativeNode'),
        ),
    ),
    'DiscordHandler': GoType(
        embeds=('*AlertNodeData',),
        fields=(
            F('Workspace', 'string', ''),
            F('Username', 'string', ''),
            F('AvatarURL', 'string', ''),
            F('EmbedTitle', 'string', ''),
        ),
        methods=(
        ),
    ),
    'Ec2AutoscaleNode': GoType(
        embeds=('chainnode',),
        fields=(
            F('Cluster', 'string', ''),
            F('GroupName', 'string', ''),
            F('GroupNameTag', 'string', ''),
            F('OutputGroupNameTag', 'string', ''),
            F('CurrentField', 'string', ''),
            F('Max', 'int64', ''),
            F('Min', 'int64', ''),
            F('Replicas', '*ast.LambdaNode', ''),
            F('IncreaseCooldown', 'time.Duration', ''),
            F('DecreaseCooldown', 'time.Duration', ''),
        ),
        methods=(
        ),
    ),
    'EmailHandler': GoType(
        embeds=('*AlertNodeData',),
        fields=(
            F('ToList', '[]string', 'To'),
            F('ToTemplatesList', '[]string', 'ToTemplates'),
        ),
        methods=(
            M('To', ('string',), True, '*EmailHandler'),
            M('ToTemplates', ('string',), True, '*EmailHandler'),
        ),
    ),
    'EvalNode': GoType(
        embeds=('chainnode',),
        fields=(
            F('AsList', '[]string', 'As'),
            F('TagsList', '[]string', 'Tags'),
            F('Lambdas', '[]*ast.LambdaNode', ''),
            F('KeepFlag', 'bool', 'Keep'),
            F('KeepList', '[]string', ''),
        ),
        methods=(
            M('MarshalJSON', (), False, '([]byte, error)'),
            M('UnmarshalJSON', ('[]byte',), False, 'error'),
            M('As', ('string',), True, '*EvalNode'),
            M('Tags', ('string',), True, '*EvalNode'),
            M('Keep', ('string',), True, '*EvalNode'),
        ),
    ),
    'ExecHandler': GoType(
        embeds=('*AlertNodeData',),
        fields=(
            F('Command', '[]string', ''),
        ),
        methods=(
        ),
    ),
    'FlattenNode': GoType(
        embeds=('chainnode',),
        fields=(
            F('Dimensions', '[]string', 'On'),
            F('Delimiter', 'string', ''),
            F('Tolerance', 'time.Duration', ''),
            F('DropOriginalFieldNameFlag', 'bool', 'DropOriginalFieldName'),
        ),
        methods=(
            M('MarshalJSON', (), False, '([]byte, error)'),
            M('UnmarshalJSON', ('[]byte',), False, 'error'),
            M('On', ('string',), True, '*FlattenNode'),
            M('DropOriginalFieldName', ('bool',), True, '*FlattenNode'),
        ),
    ),
    'FromNode': GoType(
        embeds=('chainnode',),
        fields=(
            F('Lambda', '*ast.LambdaNode', 'Where'),
            F('Dimensions', '[]interface{}', 'GroupBy'),
            F('GroupByMeasurementFlag', 'bool', 'GroupByMeasurement'),
            F('Database', 'string', ''),
            F('RetentionPolicy', 'string', ''),
            F('Measurement', 'string', ''),
            F('Truncate', 'time.Duration', ''),
            F('Round', 'time.Duration', ''),
        ),
        methods=(
            M('MarshalJSON', (), False, '([]byte, error)'),
            M('UnmarshalJSON', ('[]byte',), False, 'error'),
            M('ChainMethods', (), False, 'map[string]reflect.Value'),
            M('From', (), False, '*FromNode'),
            M('Where', ('*ast.LambdaNode',), False, '*FromNode'),
            M('GroupBy', ('interface{}',), True, '*FromNode'),
            M('GroupByMeasurement', (), False, '*FromNode'),
        ),
    ),
    'GroupByNode': GoType(
        embeds=('chainnode',),
        fields=(
            F('Dimensions', '[]interface{}', ''),
            F('ExcludedDimensions', '[]string', 'Exclude'),
            F('ByMeasurementFlag', 'bool', 'ByMeasurement'),
        ),
        methods=(
            M('MarshalJSON', (), False, '([]byte, error)'),
            M('UnmarshalJSON', ('[]byte',), False, 'error'),
            M('ByMeasurement', (), False, '*GroupByNode'),
            M('Exclude', ('string',), True, '*GroupByNode'),
        ),
    ),
    'HTTPOutNode': GoType(
        embeds=('chainnode',),
        fields=(
            F('Endpoint', 'string', ''),
        ),
        methods=(
            M('MarshalJSON', (), False, '([]byte, error)'),
            M('UnmarshalJSON', ('[]byte',), False, 'error'),
        ),
    ),
    'HTTPPostNode': GoType(
        embeds=('chainnode',),
        fields=(
            F('Endpoints', '[]string', 'Endpoint'),
            F('Headers', 'map[string]string', 'Header'),
            F('CodeField', 'string', ''),
            F('CaptureResponseFlag', 'bool', 'CaptureResponse'),
            F('URLs', '[]string', ''),
            F('Timeout', 'time.Duration', ''),
        ),
        methods=(
            M('MarshalJSON', (), False, '([]byte, error)'),
            M('UnmarshalJSON', ('[]byte',), False, 'error'),
            M('Endpoint', ('string',), False, '*HTTPPostNode'),
            M('Header', ('string', 'string'), False, '*HTTPPostNode'),
            M('CaptureResponse', (), False, '*HTTPPostNode'),
        ),
    ),
    'HipChatHandler': GoType(
        embeds=('*AlertNodeData',),
        fields=(
            F('Room', 'string', ''),
            F('Token', 'string', ''),
        ),
        methods=(
        ),
    ),
    'InfluxDBOutNode': GoType(
        embeds=('node',),
        fields=(
            F('Cluster', 'string', ''),
            F('Database', 'string', ''),
            F('RetentionPolicy', 'string', ''),
            F('Measurement', 'string', ''),
            F('WriteConsistency', 'string', ''),
            F('Precision', 'string', ''),
            F('Buffer', 'int64', ''),
            F('FlushInterval', 'time.Duration', ''),
            F('Tags', 'map[string]string', 'Tag'),
            F('CreateFlag', 'bool', 'Create'),
        ),
        methods=(
            M('MarshalJSON', (), False, '([]byte, error)'),
            M('UnmarshalJSON', ('[]byte',), False, 'error'),
            M('Tag', ('string', 'string'), False, '*InfluxDBOutNode'),
            M('Create', (), False, '*InfluxDBOutNode'),
        ),
    ),
    'InfluxQLNode': GoType(
        embeds=('chainnode',),
        fields=(
            F('Method', 'string', ''),
            F('Field', 'string', ''),
            F('As', 'string', ''),
            F('ReduceCreater', 'ReduceCreater', ''),
            F('PointTimes', 'bool', 'UsePointTimes'),
            F('Reducer', 'Node', ''),
            F('Args', '[]interface{}', ''),
        ),
        methods=(
            M('MarshalJSON', (), False, '([]byte, error)'),
            M('UnmarshalJSON', ('[]byte',), False, 'error'),
            M('UsePointTimes', (), False, '*InfluxQLNode'),
        ),
    ),
    'JoinNode': GoType(
        embeds=('chainnode',),
        fields=(
            F('Names', '[]string', 'As'),
            F('Dimensions', '[]string', 'On'),
            F('Delimiter', 'string', ''),
            F('DeleteAll', 'bool', ''),
            F('StreamName', 'string', ''),
            F('Tolerance', 'time.Duration', ''),
            F('Fill', 'interface{}', ''),
        ),
        methods=(
            M('MarshalJSON', (), False, '([]byte, error)'),
            M('UnmarshalJSON', ('[]byte',), False, 'error'),
            M('As', ('string',), True, '*JoinNode'),
            M('On', ('string',), True, '*JoinNode'),
        ),
    ),
    'K8sAutoscaleNode': GoType(
        embeds=('chainnode',),
        fields=(
            F('Cluster', 'string', ''),
            F('Namespace', 'string', ''),
            F('Kind', 'string', ''),
            F('ResourceName', 'string', ''),
            F('ResourceNameTag', 'string', ''),
            F('CurrentField', 'string', ''),
            F('Max', 'int64', ''),
            F('Min', 'int64', ''),
            F('Replicas', '*ast.LambdaNode', ''),
            F('IncreaseCooldown', 'time.Duration', ''),
            F('DecreaseCooldown', 'time.Duration', ''),
            F('NamespaceTag', 'string', ''),
            F('KindTag', 'string', ''),
            F('ResourceTag', 'string', ''),
        ),
        methods=(
            M('MarshalJSON', (), False, '([]byte, error)'),
            M('UnmarshalJSON', ('[]byte',), False, 'error'),
        ),
    ),
    'KafkaHandler': GoType(
        embeds=('*AlertNodeData',),
        fields=(
            F('Cluster', 'string', ''),
            F('KafkaTopic', 'string', ''),
            F('IsDisablePartitionById', 'bool', 'DisablePartitionById'),
            F('PartitionHashAlgorithm', 'string', ''),
            F('Template', 'string', ''),
        ),
        methods=(
            M('DisablePartitionById', (), False, '*KafkaHandler'),
        ),
    ),
    'KapacitorLoopbackNode': GoType(
        embeds=('node',),
        fields=(
            F('Database', 'string', ''),
            F('RetentionPolicy', 'string', ''),
            F('Measurement', 'string', ''),
            F('Tags', 'map[string]string', 'Tag'),
        ),
        methods=(
            M('MarshalJSON', (), False, '([]byte, error)'),
            M('UnmarshalJSON', ('[]byte',), False, 'error'),
            M('Tag', ('string', 'string'), False, '*KapacitorLoopbackNode'),
        ),
    ),
    'LogHandler': GoType(
        embeds=('*AlertNodeData',),
        fields=(
            F('FilePath', 'string', ''),
            F('Mode', 'int64', ''),
        ),
        methods=(
        ),
    ),
    'LogNode': GoType(
        embeds=('chainnode',),
        fields=(
            F('Level', 'string', ''),
            F('Prefix', 'string', ''),
        ),
        methods=(
            M('MarshalJSON', (), False, '([]byte, error)'),
            M('UnmarshalJSON', ('[]byte',), False, 'error'),
        ),
    ),
    'MQTTHandler': GoType(
        embeds=('*AlertNodeData',),
        fields=(
            F('BrokerName', 'string', ''),
            F('Topic', 'string', ''),
            F('Qos', 'int64', ''),
            F('Retained', 'bool', ''),
        ),
        methods=(
        ),
    ),
    'NoOpNode': GoType(
        embeds=('chainnode',),
        fields=(
        ),
        methods=(
            M('MarshalJSON', (), False, '([]byte, error)'),
            M('UnmarshalJSON', ('[]byte',), False, 'error'),
        ),
    ),
    'OpsGenie2Handler': GoType(
        embeds=('*AlertNodeData',),
        fields=(
            F('TeamsList', '[]string', 'Teams'),
            F('RecipientsList', '[]string', 'Recipients'),
            F('RecoveryActionString', 'string', 'RecoveryAction'),
            F('IsDetails', 'bool', 'Details'),
        ),
        methods=(
            M('Teams', ('string',), True, '*OpsGenie2Handler'),
            M('Recipients', ('string',), True, '*OpsGenie2Handler'),
            M('RecoveryAction', ('string',), False, '*OpsGenie2Handler'),
            M('Details', (), False, '*OpsGenie2Handler'),
        ),
    ),
    'OpsGenieHandler': GoType(
        embeds=('*AlertNodeData',),
        fields=(
            F('TeamsList', '[]string', 'Teams'),
            F('RecipientsList', '[]string', 'Recipients'),
        ),
        methods=(
            M('Teams', ('string',), True, '*OpsGenieHandler'),
            M('Recipients', ('string',), True, '*OpsGenieHandler'),
        ),
    ),
    'PagerDuty2Handler': GoType(
        embeds=('*AlertNodeData',),
        fields=(
            F('RoutingKey', 'string', ''),
            F('Links', '[]Link', 'Link'),
            F('_', 'string', 'ServiceKey'),
        ),
        methods=(
            M('ServiceKey', ('string',), False, '*PagerDuty2Handler'),
            M('Link', ('string', 'string'), True, '*PagerDuty2Handler'),
        ),
    ),
    'PagerDutyHandler': GoType(
        embeds=('*AlertNodeData',),
        fields=(
            F('ServiceKey', 'string', ''),
        ),
        methods=(
        ),
    ),
    'PushoverHandler': GoType(
        embeds=('*AlertNodeData',),
        fields=(
            F('UserKey', 'string', ''),
            F('Device', 'string', ''),
            F('Title', 'string', ''),
            F('URL', 'string', ''),
            F('URLTitle', 'string', ''),
            F('Sound', 'string', ''),
        ),
        methods=(
        ),
    ),
    'QueryFluxNode': GoType(
        embeds=('chainnode',),
        fields=(
            F('QueryStr', 'string', ''),
            F('Period', 'time.Duration', ''),
            F('Every', 'time.Duration', ''),
            F('AlignFlag', 'bool', 'Align'),
            F('Cron', 'string', ''),
            F('Offset', 'time.Duration', ''),
            F('Cluster', 'string', ''),
            F('Org', 'string', ''),
            F('OrgID', 'string', ''),
        ),
        methods=(
            M('MarshalJSON', (), False, '([]byte, error)'),
            M('UnmarshalJSON', ('[]byte',), False, 'error'),
            M('ChainMethods', (), False, 'map[string]reflect.Value'),
            M('Align', (), False, '*QueryFluxNode'),
        ),
    ),
    'QueryNode': GoType(
        embeds=('chainnode',),
        fields=(
            F('QueryStr', 'string', ''),
            F('Period', 'time.Duration', ''),
            F('Every', 'time.Duration', ''),
            F('AlignFlag', 'bool', 'Align'),
            F('Cron', 'string', ''),
            F('Offset', 'time.Duration', ''),
            F('AlignGroupFlag', 'bool', 'AlignGroup'),
            F('Dimensions', '[]interface{}', 'GroupBy'),
            F('GroupByMeasurementFlag', 'bool', 'GroupByMeasurement'),
            F('Fill', 'interface{}', ''),
            F('Cluster', 'string', ''),
        ),
        methods=(
            M('MarshalJSON', (), False, '([]byte, error)'),
            M('UnmarshalJSON', ('[]byte',), False, 'error'),
            M('ChainMethods', (), False, 'map[string]reflect.Value'),
            M('GroupBy', ('interface{}',), True, '*QueryNode'),
            M('GroupByMeasurement', (), False, '*QueryNode'),
            M('Align', (), False, '*QueryNode'),
            M('AlignGroup', (), False, '*QueryNode'),
        ),
    ),
    'SNMPTrapHandler': GoType(
        embeds=('*AlertNodeData',),
        fields=(
            F('TrapOid', 'string', ''),
            F('DataList', '[]SNMPData', 'Data'),
        ),
        methods=(
            M('Data', ('string', 'string', 'string'), False, '*SNMPTrapHandler'),
        ),
    ),
    'SampleNode': GoType(
        embeds=('chainnode',),
        fields=(
            F('N', 'int64', ''),
            F('Duration', 'time.Duration', ''),
        ),
        methods=(
            M('MarshalJSON', (), False, '([]byte, error)'),
            M('UnmarshalJSON', ('[]byte',), False, 'error'),
        ),
    ),
    'SensuHandler': GoType(
        embeds=('*AlertNodeData',),
        fields=(
            F('Source', 'string', ''),
            F('HandlersList', '[]string', 'Handlers'),
            F('MetadataMap', 'map[string]interface{}', 'Metadata'),
        ),
        methods=(
            M('Handlers', ('string',), True, '*SensuHandler'),
            M('Metadata', ('string', 'interface{}'), False, '*SensuHandler'),
        ),
    ),
    'ServiceNowHandler': GoType(
        embeds=('*AlertNodeData',),
        fields=(
            F('URL', 'string', ''),
            F('Username', 'string', ''),
            F('Password', 'string', ''),
            F('Source', 'string', ''),
            F('Node', 'string', ''),
            F('Type', 'string', ''),
            F('Resource', 'string', ''),
            F('MetricName', 'string', ''),
            F('MessageKey', 'string', ''),
            F('AdditionalInfoMap', 'map[string]interface{}', 'AdditionalInfo'),
        ),
        methods=(
            M('AdditionalInfo', ('string', 'interface{}'), False, '*ServiceNowHandler'),
        ),
    ),
    'ShiftNode': GoType(
        embeds=('chainnode',),
        fields=(
            F('Shift', 'time.Duration', ''),
        ),
        methods=(
            M('MarshalJSON', (), False, '([]byte, error)'),
            M('UnmarshalJSON', ('[]byte',), False, 'error'),
        ),
    ),
    'SideloadNode': GoType(
        embeds=('chainnode',),
        fields=(
            F('Source', 'string', ''),
            F('OrderList', '[]string', 'Order'),
            F('Fields', 'map[string]interface{}', 'Field'),
            F('Tags', 'map[string]string', 'Tag'),
        ),
        methods=(
            M('Order', ('string',), True, '*SideloadNode'),
            M('Field', ('string', 'interface{}'), False, '*SideloadNode'),
            M('Tag', ('string', 'string'), False, '*SideloadNode'),
            M('MarshalJSON', (), False, '([]byte, error)'),
            M('UnmarshalJSON', ('[]byte',), False, 'error'),
        ),
    ),
    'SlackHandler': GoType(
        embeds=('*AlertNodeData',),
        fields=(
            F('Workspace', 'string', ''),
            F('Channel', 'string', ''),
            F('Username', 'string', ''),
            F('IconEmoji', 'string', ''),
        ),
        methods=(
        ),
    ),
    'StateCountNode': GoType(
        embeds=('chainnode',),
        fields=(
            F('Lambda', '*ast.LambdaNode', ''),
            F('As', 'string', ''),
        ),
        methods=(
            M('MarshalJSON', (), False, '([]byte, error)'),
            M('UnmarshalJSON', ('[]byte',), False, 'error'),
        ),
    ),
    'StateDurationNode': GoType(
        embeds=('chainnode',),
        fields=(
            F('Lambda', '*ast.LambdaNode', ''),
            F('As', 'string', ''),
            F('Unit', 'time.Duration', ''),
        ),
        methods=(
            M('MarshalJSON', (), False, '([]byte, error)'),
            M('UnmarshalJSON', ('[]byte',), False, 'error'),
        ),
    ),
    'StatsNode': GoType(
        embeds=('chainnode',),
        fields=(
            F('SourceNode', 'Node', ''),
            F('Interval', 'time.Duration', ''),
            F('AlignFlag', 'bool', 'Align'),
        ),
        methods=(
            M('MarshalJSON', (), False, '([]byte, error)'),
            M('UnmarshalJSON', ('[]byte',), False, 'error'),
            M('Align', (), False, '*StatsNode'),
        ),
    ),
    'StreamNode': GoType(
        embeds=('node',),
        fields=(
        ),
        methods=(
            M('MarshalJSON', (), False, '([]byte, error)'),
            M('UnmarshalJSON', ('[]byte',), False, 'error'),
            M('From', (), False, '*FromNode'),
        ),
    ),
    'SwarmAutoscaleNode': GoType(
        embeds=('chainnode',),
        fields=(
            F('Cluster', 'string', ''),
            F('ServiceName', 'string', ''),
            F('ServiceNameTag', 'string', ''),
            F('OutputServiceNameTag', 'string', ''),
            F('CurrentField', 'string', ''),
            F('Max', 'int64', ''),
            F('Min', 'int64', ''),
            F('Replicas', '*ast.LambdaNode', ''),
            F('IncreaseCooldown', 'time.Duration', ''),
            F('DecreaseCooldown', 'time.Duration', ''),
        ),
        methods=(
            M('MarshalJSON', (), False, '([]byte, error)'),
            M('UnmarshalJSON', ('[]byte',), False, 'error'),
        ),
    ),
    'TalkHandler': GoType(
        embeds=('*AlertNodeData',),
        fields=(
        ),
        methods=(
        ),
    ),
    'TcpHandler': GoType(
        embeds=('*AlertNodeData',),
        fields=(
            F('Address', 'string', ''),
        ),
        methods=(
        ),
    ),
    'TeamsHandler': GoType(
        embeds=('*AlertNodeData',),
        fields=(
            F('ChannelURL', 'string', ''),
        ),
        methods=(
        ),
    ),
    'TelegramHandler': GoType(
        embeds=('*AlertNodeData',),
        fields=(
            F('ChatId', 'string', ''),
            F('ParseMode', 'string', ''),
            F('IsDisableWebPagePreview', 'bool', 'DisableWebPagePreview'),
            F('IsDisableNotification', 'bool', 'DisableNotification'),
        ),
        methods=(
            M('DisableNotification', (), False, '*TelegramHandler'),
            M('DisableWebPagePreview', (), False, '*TelegramHandler'),
        ),
    ),
    'TrickleNode': GoType(
        embeds=('chainnode',),
        fields=(
        ),
        methods=(
            M('MarshalJSON', (), False, '([]byte, error)'),
            M('UnmarshalJSON', ('[]byte',), False, 'error'),
        ),
    ),
    'UDFNode': GoType(
        embeds=('chainnode',),
        fields=(
            F('UDFName', 'string', ''),
            F('Options', '[]*agent.Option', ''),
        ),
        methods=(
            M('Desc', (), False, 'string'),
            M('HasChainMethod', ('string',), False, 'bool'),
            M('CallChainMethod', ('string', 'interface{}'), True, '(interface'),
            M('HasProperty', ('string',), False, 'bool'),
            M('Property', ('string',), False, 'interface'),
            M('SetProperty', ('string', 'interface{}'), True, '(interface'),
            M('MarshalJSON', (), False, '([]byte, error)'),
            M('UnmarshalJSON', ('[]byte',), False, 'error'),
        ),
    ),
    'UnionNode': GoType(
        embeds=('chainnode',),
        fields=(
            F('Rename', 'string', ''),
        ),
        methods=(
            M('MarshalJSON', (), False, '([]byte, error)'),
            M('UnmarshalJSON', ('[]byte',), False, 'error'),
        ),
    ),
    'VictorOpsHandler': GoType(
        embeds=('*AlertNodeData',),
        fields=(
            F('RoutingKey', 'string', ''),
        ),
        methods=(
        ),
    ),
    'WhereNode': GoType(
        embeds=('chainnode',),
        fields=(
            F('Lambda', '*ast.LambdaNode', ''),
        ),
        methods=(
            M('MarshalJSON', (), False, '([]byte, error)'),
            M('UnmarshalJSON', ('[]byte',), False, 'error'),
        ),
    ),
    'WindowNode': GoType(
        embeds=('chainnode',),
        fields=(
            F('Period', 'time.Duration', ''),
            F('Every', 'time.Duration', ''),
            F('AlignFlag', 'bool', 'Align'),
            F('FillPeriodFlag', 'bool', 'FillPeriod'),
            F('PeriodCount', 'int64', ''),
            F('EveryCount', 'int64', ''),
        ),
        methods=(
            M('MarshalJSON', (), False, '([]byte, error)'),
            M('UnmarshalJSON', ('[]byte',), False, 'error'),
            M('Align', (), False, '*WindowNode'),
            M('FillPeriod', (), False, '*WindowNode'),
        ),
    ),
    'ZenossHandler': GoType(
        embeds=('*AlertNodeData',),
        fields=(
            F('URL', 'string', ''),
            F('Username', 'string', ''),
            F('Password', 'string', ''),
            F('Action', 'string', ''),
            F('Method', 'string', ''),
            F('Type', 'string', ''),
            F('Tid', 'int64', ''),
            F('Collector', 'string', ''),
            F('Summary', 'string', ''),
            F('Device', 'string', ''),
            F('Component', 'string', ''),
            F('EventClassKey', 'string', ''),
            F('EventClass', 'string', ''),
            F('Message', 'string', ''),
            F('CustomFieldsMap', 'map[string]interface{}', 'CustomField'),
        ),
        methods=(
            M('CustomField', ('string', 'interface{}'), False, '*ZenossHandler'),
        ),
    ),
    'chainnode': GoType(
        embeds=('node',),
        fields=(
        ),
        methods=(
            M('Count', ('string',), False, '*InfluxQLNode'),
            M('Distinct', ('string',), False, '*InfluxQLNode'),
            M('Mean', ('string',), False, '*InfluxQLNode'),
            M('Median', ('string',), False, '*InfluxQLNode'),
            M('Mode', ('string',), False, '*InfluxQLNode'),
            M('Spread', ('string',), False, '*InfluxQLNode'),
            M('Sum', ('string',), False, '*InfluxQLNode'),
            M('First', ('string',), False, '*InfluxQLNode'),
            M('Last', ('string',), False, '*InfluxQLNode'),
            M('Min', ('string',), False, '*InfluxQLNode'),
            M('Max', ('string',), False, '*InfluxQLNode'),
            M('Percentile', ('string', 'float64'), False, '*InfluxQLNode'),
            M('Top', ('int64', 'string', 'string'), True, '*InfluxQLNode'),
            M('Bottom', ('int64', 'string', 'string'), True, '*InfluxQLNode'),
            M('Stddev', ('string',), False, '*InfluxQLNode'),
            M('Elapsed', ('string', 'time.Duration'), False, '*InfluxQLNode'),
            M('Difference', ('string',), False, '*InfluxQLNode'),
            M('MovingAverage', ('string', 'int64'), False, '*InfluxQLNode'),
            M('HoltWinters', ('string', 'int64', 'int64', 'time.Duration'), False, '*InfluxQLNode'),
            M('HoltWintersWithFit', ('string', 'int64', 'int64', 'time.Duration'), False, '*InfluxQLNode'),
            M('CumulativeSum', ('string',), False, '*InfluxQLNode'),
            M('Where', ('*ast.LambdaNode',), False, '*WhereNode'),
            M('HttpOut', ('string',), False, '*HTTPOutNode'),
            M('HttpPost', ('string',), True, '*HTTPPostNode'),
            M('InfluxDBOut', (), False, '*InfluxDBOutNode'),
            M('KapacitorLoopback', (), False, '*KapacitorLoopbackNode'),
            M('Alert', (), False, '*AlertNode'),
            M('Union', ('Node',), True, '*UnionNode'),
            M('Join', ('Node',), True, '*JoinNode'),
            M('Combine', ('*ast.LambdaNode',), True, '*CombineNode'),
            M('Flatten', (), False, '*FlattenNode'),
            M('Eval', ('*ast.LambdaNode',), True, '*EvalNode'),
            M('GroupBy', ('interface{}',), True, '*GroupByNode'),
            M('Window', (), False, '*WindowNode'),
            M('Barrier', (), False, '*BarrierNode'),
            M('Sample', ('interface{}',), False, '*SampleNode'),
            M('Derivative', ('string',), False, '*DerivativeNode'),
            M('ChangeDetect', ('string',), True, '*ChangeDetectNode'),
            M('Shift', ('time.Duration',), False, '*ShiftNode'),
            M('Log', (), False, '*LogNode'),
            M('Default', (), False, '*DefaultNode'),
            M('Delete', (), False, '*DeleteNode'),
            M('K8sAutoscale', (), False, '*K8sAutoscaleNode'),
            M('SwarmAutoscale', (), False, '*SwarmAutoscaleNode'),
            M('Ec2Autoscale', (), False, '*Ec2AutoscaleNode'),
            M('StateDuration', ('*ast.LambdaNode',), False, '*StateDurationNode'),
            M('StateCount', ('*ast.LambdaNode',), False, '*StateCountNode'),
            M('Sideload', (), False, '*SideloadNode'),
            M('Trickle', (), False, '*TrickleNode'),
        ),
    ),
    'node': GoType(
        embeds=(),
        fields=(
            F('QuietFlag', 'bool', 'Quiet'),
        ),
        methods=(
            M('IsQuiet', (), False, 'bool'),
            M('Quiet', (), False, ''),
            M('Desc', (), False, 'string'),
            M('ID', (), False, 'ID'),
            M('Name', (), False, 'string'),
            M('SetName', ('string',), False, ''),
            M('Parents', (), False, '[]Node'),
            M('Children', (), False, '[]Node'),
            M('Wants', (), False, 'EdgeType'),
            M('Provides', (), False, 'EdgeType'),
            M('Stats', ('time.Duration',), False, '*StatsNode'),
            M('Deadman', ('float64', 'time.Duration', '*ast.LambdaNode'), True, '*AlertNode'),
        ),
    ),
}

#: Types that implement ``ChainMethods()`` (Kapacitor's PartialDescriber):
#: chaining methods re-exposed although a property method hides them.
#: name -> (declaring struct, method name)
PARTIAL_CHAIN_METHODS = {
    "FromNode": {"GroupBy": ("chainnode", "GroupBy"),
                 "Where": ("chainnode", "Where")},
    "QueryNode": {"GroupBy": ("chainnode", "GroupBy")},
    "QueryFluxNode": {},
    "BarrierNode": {"Delete": ("chainnode", "Delete")},
    "AlertNodeData": {"Log": ("chainnode", "Log")},
}

#: Go types that are pipeline nodes (what ``%T`` shows and what a chaining
#: method creates) mapped to the node's default ``desc`` (the name stem
#: used in DOT output: ``from1``, ``alert3``...).
NODE_DESCS = {
    "StreamNode": "stream",
    "BatchNode": "batch",
    "FromNode": "from",
    "QueryNode": "query",
    "QueryFluxNode": "queryFlux",
    "AlertNode": "alert",
    "BarrierNode": "barrier",
    "ChangeDetectNode": "changeDetect",
    "CombineNode": "combine",
    "DefaultNode": "default",
    "DeleteNode": "delete",
    "DerivativeNode": "derivative",
    "Ec2AutoscaleNode": "ec2_autoscale",
    "EvalNode": "eval",
    "FlattenNode": "flatten",
    "GroupByNode": "groupby",
    "HTTPOutNode": "http_out",
    "HTTPPostNode": "http_post",
    "InfluxDBOutNode": "influxdb_out",
    "InfluxQLNode": None,  # the InfluxQL function name
    "JoinNode": "join",
    "K8sAutoscaleNode": "k8s_autoscale",
    "KapacitorLoopbackNode": "kapacitor_loopback",
    "LogNode": "log",
    "NoOpNode": "noop",
    "SampleNode": "sample",
    "ShiftNode": "shift",
    "SideloadNode": "sideload",
    "StateDurationNode": "state_duration",
    "StateCountNode": "state_count",
    "StatsNode": "stats",
    "SwarmAutoscaleNode": "swarm_autoscale",
    "TrickleNode": "trickle",
    "UDFNode": None,  # the UDF name
    "UnionNode": "union",
    "WhereNode": "where",
    "WindowNode": "window",
}

STREAM = "stream"
BATCH = "batch"
NO_EDGE = "noedge"
SAME = "same"  # whatever the parent provides

#: (wants, provides) per node type; SAME means the parent's provided edge.
NODE_EDGES = {
    "StreamNode": (STREAM, STREAM),
    "BatchNode": (NO_EDGE, BATCH),
    "FromNode": (STREAM, STREAM),
    "QueryNode": (BATCH, BATCH),
    "QueryFluxNode": (BATCH, BATCH),
    "StatsNode": (STREAM, STREAM),
    "WindowNode": (STREAM, BATCH),
    "TrickleNode": (BATCH, STREAM),
    "CombineNode": (SAME, STREAM),
    "Ec2AutoscaleNode": (SAME, STREAM),
    "K8sAutoscaleNode": (SAME, STREAM),
    "SwarmAutoscaleNode": (SAME, STREAM),
    "InfluxDBOutNode": (SAME, NO_EDGE),
    "KapacitorLoopbackNode": (SAME, NO_EDGE),
}

#: InfluxQL functions: method -> (desc, provided edge).
INFLUXQL_FUNCTIONS = {
    "Count": ("count", STREAM),
    "Distinct": ("distinct", BATCH),
    "Mean": ("mean", STREAM),
    "Median": ("median", STREAM),
    "Mode": ("mode", STREAM),
    "Spread": ("spread", STREAM),
    "Sum": ("sum", STREAM),
    "First": ("first", STREAM),
    "Last": ("last", STREAM),
    "Min": ("min", STREAM),
    "Max": ("max", STREAM),
    "Percentile": ("percentile", STREAM),
    "Top": ("top", BATCH),
    "Bottom": ("bottom", BATCH),
    "Stddev": ("stddev", STREAM),
    "Elapsed": ("elapsed", SAME),
    "Difference": ("difference", SAME),
    "MovingAverage": ("movingAverage", SAME),
    "HoltWinters": ("holtWinters", BATCH),
    "HoltWintersWithFit": ("holtWinters", BATCH),
    "CumulativeSum": ("cumulativeSum", SAME),
}

_DEFAULT_FLAP_HISTORY = 21
SECOND = 10 ** 9

#: Field values a freshly created node starts with (Go constructors).
NODE_DEFAULTS = {
    "AlertNode": {
        "History": _DEFAULT_FLAP_HISTORY,
        "Id": "{{ .Name }}:{{ .Group }}",
        "Message": "{{ .ID }} is {{ .Level }}",
        "Details": "{{ json . }}",
    },
    "CombineNode": {"Delimiter": ".", "Max": 1000000},
    "FlattenNode": {"Delimiter": "."},
    "JoinNode": {"Delimiter": "."},
    "DerivativeNode": {"Unit": SECOND},
    "StateDurationNode": {"As": "state_duration", "Unit": SECOND},
    "StateCountNode": {"As": "state_count"},
    "InfluxDBOutNode": {"Buffer": 1000, "FlushInterval": 10 * SECOND},
    "K8sAutoscaleNode": {"Min": 1, "Kind": "deployments",
                         "NamespaceTag": "namespace", "KindTag": "kind",
                         "ResourceTag": "resource"},
    "SwarmAutoscaleNode": {"Min": 1},
    "Ec2AutoscaleNode": {"Min": 1},
    "LogNode": {"Level": "INFO"},
}

#: Go value types that satisfy the ``pipeline.Node`` interface.
NODE_INTERFACE_TYPES = frozenset(
    list(NODE_DESCS) + ["AlertNodeData"] +
    [name for name, t in GO_TYPES.items() if "*AlertNodeData" in t.embeds])
