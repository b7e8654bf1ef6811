"""Usage texts, worded and laid out as the original CLI's (stderr, tab-indented).

Only commands this client implements are listed; ``user`` is the addition.
"""

from __future__ import annotations

__all__ = ["MAIN", "COMMAND_USAGE"]

MAIN = """
Usage: kapacitor [options] [command] [args]

Commands:

	record                Record the result of a query or a snapshot of the current stream data.
	define                Create/update a task.
	define-template       Create/update a template.
	define-topic-handler  Create/update an alert handler for a topic.
	replay                Replay a recording to a task.
	replay-live           Replay data against a task without recording it.
	watch                 Watch logs for a task.
	logs                  Follow arbitrary Kapacitor logs.
	enable                Enable and start running a task with live data.
	disable               Stop running a task.
	reload                Reload a running task with an updated task definition.
	delete                Delete tasks, templates, recordings, replays, topics or topic-handlers.
	list                  List information about tasks, templates, recordings, replays, topics, topic-handlers, service-tests or users.
	show                  Display detailed information about a task.
	show-template         Display detailed information about a template.
	show-topic-handler    Display detailed information about an alert handler for a topic.
	show-topic            Display detailed information about an alert topic.
	user                  Manage users of Kapacitor's internal authorizations.
	backup                Backup the Kapacitor database.
	level                 Sets the logging level on the kapacitord server.
	stats                 Display various stats about Kapacitor.
	version               Displays the Kapacitor version info.
	vars                  Print debug vars in JSON format.
	service-tests         Test a service.
	help                  Prints help for a command.

Options:
"""

HELP = """Usage: kapacitor help [command]
"""

DEFINE = """Usage: kapacitor define <task ID> [options]

	Create or update a task.

	A task is defined via a TICKscript that defines the data processing pipeline of the task.

	If an option is absent it will be left unmodified.

	If the task is enabled then it will be reloaded unless -no-reload is specified.

For example:

	You must define a task for the first time with all the flags.

		$ kapacitor define my_task -tick path/to/TICKscript -type stream -dbrp mydb.myrp

	Later you can change a single property of the task by referencing its name
	and only providing the single option you wish to modify.

		$ kapacitor define my_task -tick path/to/TICKscript

	or

		$ kapacitor define my_task -dbrp mydb.myrp -dbrp otherdb.default

	NOTE: you must specify all 'dbrp' flags you desire if you wish to modify them.

Options:

"""

DEFINE_TEMPLATE = """Usage: kapacitor define-template <template ID> [options]

	Create or update a template.

	A template is defined via a TICKscript that defines the data processing pipeline of the template.

	If an option is absent it will be left unmodified.

	NOTE: Updating a template will reload all associated tasks.

For example:

	You must define a template for the first time with all the flags.

		$ kapacitor define-template my_template -tick path/to/TICKscript -type stream

	Later you can change a single property of the template by referencing its name
	and only providing the single option you wish to modify.

		$ kapacitor define-template my_template -tick path/to/TICKscript

	or

		$ kapacitor define-template my_template -type batch

Options:

"""


def _by_task_id(command: str, summary: str) -> str:
    """The usage of a command that takes task IDs or globs (enable, disable, reload)."""
    return f"""Usage: kapacitor {command} [task ID...]

	{summary}

For example:

	You can {command} by specific task ID.

		$ kapacitor {command} cpu_alert

	Or, you can {command} by glob:

		$ kapacitor {command} *_alert
"""


ENABLE = _by_task_id("enable", "Enable and start a task running from the live data.")

DISABLE = _by_task_id("disable", "Disable and stop a task running.")

RELOAD = _by_task_id("reload", "Disable then enable a running task.")

SHOW = """Usage: kapacitor show [-replay] [task ID]

	Show details about a specific task.

Options:
"""

SHOW_TEMPLATE = """Usage: kapacitor show-template [template ID]

	Show details about a specific template.
"""

LIST = """Usage: kapacitor list (tasks|templates|recordings|replays|topics|topic-handlers|service-tests|users) [ID or pattern]...

	List tasks, templates, recordings, replays, topics, handlers, service tests or users and their current state.

	If no ID or pattern is given then all items will be listed.

	Listing handlers requires that the topic ID or pattern be specified before the handler patterns.

		$ kapacitor list topic-handlers [topicID or pattern] [ID or pattern]

	For example list all handlers in the system topic

		$ kapacitor list topic-handlers system

	For example list all email* handlers in the system topic

		$ kapacitor list topic-handlers system email*

"""

DELETE = """Usage: kapacitor delete (tasks|templates|recordings|replays|topics|topic-handlers) [ID or pattern]...

	Delete a tasks, templates, recordings, replays, topics or handlers.

	If a task is enabled it will be disabled and then deleted.

	Deleting a handler requires that the topic be specified before the pattern.

		$ kapacitor delete topic-handlers [topic] [ID or pattern]


For example:

	You can delete task:

		$ kapacitor delete tasks my_task

	Or you can delete items by glob:

		$ kapacitor delete tasks *_alert

	You can delete recordings:

		$ kapacitor delete recordings b0a2ba8a-aeeb-45ec-bef9-1a2939963586

	You can delete a handler in the topic 'system':

		$ kapacitor delete topic-handlers system slack
"""

DEFINE_TOPIC_HANDLER = """Usage: kapacitor define-topic-handler <path to handler spec file>

	Create or update a handler.

	A handler is defined via a JSON or YAML file.

For example:

	Define a handler using the slack.yaml file:

		$ kapacitor define-topic-handler slack.yaml

Options:
"""

SHOW_TOPIC_HANDLER = """Usage: kapacitor show-topic-handler [topic ID] [handler ID]

	Show details about a specific handler.
"""

SHOW_TOPIC = """Usage: kapacitor show-topic [topic ID]

	Show details about a specific topic.
"""

WATCH = """Usage: kapacitor watch <task id> [<tags> ...]

	Watch logs associated with a task.

	Examples:

		$ kapacitor watch mytask
		$ kapacitor watch mytask node=log5
"""

LOGS = """Usage: kapacitor logs [<tags> ...]

	Watch arbitrary kapacitor logs.

		$ kapacitor logs service=http lvl=error
		$ kapacitor logs service=http lvl=info+
"""

LEVEL = """Usage: kapacitor level (debug|info|error)

	Sets the logging level on the kapacitord server.
"""

STATS = """Usage: kapacitor stats <general|ingress>

	Print stats about a certain aspect of Kapacitor.

	general - Display summary stats about Kapacitor.
	ingress - Display stats about the data Kapacitor is receiving by database, retention policy and measurement.
"""

VERSION = """Usage: kapacitor version

	Print version info.
"""

VARS = """Usage: kapacitor vars

	Print debug vars in JSON format.
"""

BACKUP = """Usage: kapacitor backup <output file>

	Perform a backup of the Kapacitor database.

	To restore a database first stop Kapacitor, then replace the existing kapacitor.db file with the backup file.
"""

USER = """Usage: kapacitor user (create|list|show|update|passwd|delete) [args]

	Manage the users of Kapacitor's internal authorizations.
	The server needs [auth] enabled = true, and -url must carry the
	credentials of an admin user. On kapacitord-tw a normal user may only
	show itself and change its own password; on the original Kapacitor a
	user with the 'api' permission can manage every user.

	Passwords are never taken from the command line: they are read from a
	prompt that does not echo, or from the first line of standard input
	when it is not a terminal.

Commands:

	create <name> [-type admin|normal] [-perms perm,...]  Create a user; asks for its password.
	list [pattern]...                                     List users, all or those matching glob patterns.
	show <name>                                           Show a user's type and permissions.
	update <name> [-type admin|normal] [-perms perm,...]  Change a user's type and/or permissions.
	passwd <name>                                         Change a user's password; asks for it.
	delete <name>...                                      Delete users.

	Permissions (comma separated): none, api, config_api, write_points, all.
	'-perms ""' removes every permission. On the original Kapacitor, 'api'
	also allows managing users (admins included): grant it with care.

For example:

		$ kapacitor -url http://admin:secret@localhost:9092 user create bob -perms api
		$ printf '%s\\n' "$NEW_PASSWORD" | kapacitor -url http://admin:secret@localhost:9092 user passwd bob
"""

USER_CREATE = """Usage: kapacitor user create <name> [-type admin|normal] [-perms perm,...]

	Create a user. The password is asked for twice without echo, or read
	from the first line of standard input when it is not a terminal.

Options:
"""

USER_UPDATE = """Usage: kapacitor user update <name> [-type admin|normal] [-perms perm,...]

	Change a user's type and/or permissions. Absent options are left unchanged;
	'-perms ""' removes every permission. Making a user an admin clears its permissions.

Options:
"""

USER_LIST = """Usage: kapacitor user list [pattern]...

	List users, all of them or those whose name matches one of the glob patterns.
"""

USER_SHOW = """Usage: kapacitor user show <name>

	Show a user's type and permissions.
"""

USER_PASSWD = """Usage: kapacitor user passwd <name>

	Change a user's password. The new password is asked for twice without echo,
	or read from the first line of standard input when it is not a terminal.
"""

USER_DELETE = """Usage: kapacitor user delete <name>...

	Delete users.
"""

# The original prints the usage of ``vars`` here (a slip in its help switch).
SERVICE_TESTS = """Usage: kapacitor service-tests <service name or pattern>...

	Send a test notification through each matching service, using the
	test options the server suggests, and print whether it succeeded.

	List the services that can be tested with:

		$ kapacitor list service-tests
"""

COMMAND_USAGE = {
    "help": HELP,
    "define": DEFINE,
    "define-template": DEFINE_TEMPLATE,
    "enable": ENABLE,
    "disable": DISABLE,
    "reload": RELOAD,
    "show": SHOW,
    "show-template": SHOW_TEMPLATE,
    "list": LIST,
    "define-topic-handler": DEFINE_TOPIC_HANDLER,
    "show-topic-handler": SHOW_TOPIC_HANDLER,
    "show-topic": SHOW_TOPIC,
    "watch": WATCH,
    "logs": LOGS,
    "delete": DELETE,
    "level": LEVEL,
    "stats": STATS,
    "version": VERSION,
    "vars": VARS,
    "backup": BACKUP,
    "user": USER,
    "service-tests": SERVICE_TESTS,
}
