"""
``kapacitord``: the original's Go-style command line (reference §4.9).

    kapacitord [run] [-config FILE] [-pidfile FILE] [-hostname NAME]
               [-log-file FILE] [-log-level LEVEL]
    kapacitord config [-config FILE] [-hostname NAME]
    kapacitord version
    kapacitord help [command]

``run`` stays in the foreground, stops gracefully on SIGTERM/SIGINT and
exits 0, reopens its log file on SIGHUP (for logrotate) and, with ``[load]``
enabled, loads its directory again as Kapacitor does; every fatal error
is printed to stderr and exits 1.
"""

from __future__ import annotations

import os
import signal
import sys
from typing import List, Optional

from kapacitord_tw import __version__
from kapacitord_tw.cli.goflags import Flag, FlagError, FlagSet, HelpRequested
from kapacitord_tw.config import loader as config_load
from kapacitord_tw.config.render import render_toml

USAGE = """\
Configure and start a Kapacitor server (kapacitord-tw).

Usage:

        kapacitord [[command] [arguments]]

The commands are:

    config               display the default configuration
    help                 display this help message
    run                  run node with existing configuration
    version              displays the Kapacitor version

"run" is the default command.

Use "kapacitord help [command]" for more information about a command.
"""

# How -config is found; both commands explain it the same way.
_CONFIG_SEARCH = """\
            This defaults to the environment variable KAPACITOR_CONFIG_PATH,
            ~/.kapacitor/kapacitor.conf, or /etc/kapacitor/kapacitor.conf if a file
            is present at any of these locations.
            Disable the automatic loading of a configuration file using
            the null device (such as /dev/null).
"""

RUN_USAGE = f"""\
Runs the Kapacitor server.

Usage: kapacitord run [flags]

    -config <path>
            Set the path to the configuration file.
{_CONFIG_SEARCH}    -hostname <name>
            Override the hostname, the 'hostname' configuration
            option will be overridden.
    -pidfile <path>
            Write process ID to a file.
    -log-file <path>
            Write logs to a file.
    -log-level <level>
            Sets the log level. One of debug,info,error.
"""

CONFIG_USAGE = f"""\
Displays the default configuration.

Usage: kapacitord config [flags]

    -config <path>
            Set the path to the initial configuration file.
{_CONFIG_SEARCH}    -hostname <name>
            Override the hostname.
"""

# Every flag defaults to None, so "not given" and "given empty" stay apart.
CONFIG_FLAGS = FlagSet(tuple(Flag(name, default=None) for name in ("config", "hostname")))
#: Accepted for compatibility with Kapacitor's command line; they do nothing here.
IGNORED_RUN_FLAGS = ("cpuprofile", "memprofile", "blacklist-cidrs", "disable-handlers")
RUN_FLAGS = FlagSet(tuple(
    Flag(name, default=None)
    for name in ("config", "pidfile", "hostname", "log-file", "log-level") + IGNORED_RUN_FLAGS
))


def version_line() -> str:
    return f"Kapacitor OSS version {__version__} (git: kapacitord-tw unknown)"


class Fatal(Exception):
    """Printed to stderr as is; exit status 1."""


def _load(command: str, flags: dict, environ, for_config: bool):
    try:
        loaded = config_load.load(
            flags.get("config"),
            environ,
            home=environ.get("HOME"),  # the demo paths follow the environ given
            for_config_command=for_config,
        )
    except config_load.EnvError as e:
        raise Fatal(f"{command}: apply env config: {e}") from None
    except config_load.ParseError as e:
        raise Fatal(f"{command}: parse config: {e}") from None
    config = config_load.apply_flags(
        loaded.config,
        hostname=flags.get("hostname"),
        log_file=flags.get("log-file"),
        log_level=flags.get("log-level"),
    )
    return loaded, config


def _flags(command: str, args: List[str], flag_set: FlagSet, usage: str) -> dict:
    """Go's flag handling: usage on stderr, then ``<command>: <error>`` (exit 1).

    The values are by name, ``None`` for a flag not given.
    """
    try:
        flags = flag_set.parse(args).values
    except HelpRequested:
        sys.stderr.write(usage)
        raise Fatal(f"{command}: flag: help requested") from None
    except FlagError as e:
        sys.stderr.write(usage)
        raise Fatal(f"{command}: {e}") from None
    return flags


def run_config(args: List[str], environ, out) -> int:
    flags = _flags("config", args, CONFIG_FLAGS, CONFIG_USAGE)
    loaded, config = _load("config", flags, environ, for_config=True)
    if loaded.path:
        sys.stderr.write(f"Merging with configuration at: {loaded.path}\n")
    for warning in loaded.warnings:
        sys.stderr.write(f"warning: {warning}\n")
    try:
        config_load.validate(config)
    except config_load.ValidationError as e:
        raise Fatal(f"config: {e}. {config_load.GENERATE_HINT}") from None
    out.write(render_toml(config) + "\n")
    return 0


def _write_pidfile(path: str) -> None:
    parent = os.path.dirname(path)
    if parent:
        os.makedirs(parent, exist_ok=True)
    with open(path, "w") as f:
        f.write(f"{os.getpid()}\n")


def _reopen_log_on_sighup(reactor, control, load=None) -> None:
    """SIGHUP reopens ``[logging] file``: logrotate renames the file, then
    signals, and the next line goes to a new file at the old path.  With
    ``[load]`` enabled it also loads the load directory again (Kapacitor's
    SIGHUP), which restarts the tasks defined there.

    The handler only schedules the work: the reopen runs on the reactor,
    never in the middle of a line being written.
    """

    def on_hup(_signum, _frame):
        reactor.callFromThread(control.reopen)
        if load is not None and load.loader is not None:
            reactor.callFromThread(load.reload)

    signal.signal(signal.SIGHUP, on_hup)


def run_daemon(args: List[str], environ) -> int:
    flags = _flags("run", args, RUN_FLAGS, RUN_USAGE)
    loaded, config = _load("run", flags, environ, for_config=False)
    try:
        config_load.validate(config)
    except config_load.ValidationError as e:
        raise Fatal(f"run: create server: {config_load.invalid_configuration(e)}") from None

    from twisted.internet import reactor
    from twisted.logger import Logger

    from kapacitord_tw import logs
    from kapacitord_tw.service import make_service
    from kapacitord_tw.storage import StoreError

    control = logs.start_logging(config.logging.file, config.logging.level)
    log = Logger(namespace="kapacitord_tw.run")
    if loaded.path:
        log.info("Using configuration at: {path}", path=loaded.path)
    else:
        log.info("No configuration provided, using default settings")
    for warning in loaded.warnings:
        log.warn("{warning}", warning=warning)
    for ignored in IGNORED_RUN_FLAGS:
        if flags[ignored] is not None:
            log.warn("-{flag} is accepted for compatibility and ignored", flag=ignored)
    try:
        service = make_service(config, reactor, log_control=control)
    except StoreError as e:
        raise Fatal(f"run: create server: open store: {e}") from None
    except OSError as e:
        raise Fatal(f"run: create server: {e}") from None
    pidfile = flags["pidfile"]
    if pidfile:
        try:
            _write_pidfile(pidfile)
        except OSError as e:
            raise Fatal(f"run: write pid file: {e}") from None
    status = {"code": 0}

    def start():
        service.startService()
        service.http.listening.addCallback(lambda port: None if port else status.update(code=1))

    def stop():
        log.info("Signal received, initializing clean shutdown...")
        d = service.stopService()
        if d is not None:
            d.addErrback(lambda f: log.failure("error during shutdown", f))
        return d

    reactor.callWhenRunning(start)
    reactor.addSystemEventTrigger("before", "shutdown", stop)
    _reopen_log_on_sighup(reactor, control, getattr(service, "load", None))
    try:
        reactor.run()
    finally:
        if pidfile:
            try:
                os.remove(pidfile)
            except OSError:
                pass
    log.info("Server shutdown completed")
    if status["code"]:
        # The reason is in the log, which may be a file: say it on stderr too.
        load_error = getattr(getattr(service, "load", None), "error", None)
        if load_error is not None:
            raise Fatal(f"run: open server: failed to reload tasks/templates/handlers: "
                        f"{load_error}")
        raise Fatal(f"run: open server: cannot listen on {config.http.bind_address}")
    return 0


def main(argv: Optional[List[str]] = None, environ=None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    environ = os.environ if environ is None else environ
    command = "run"
    if args and not args[0].startswith("-"):
        command = args.pop(0)
    elif args and args[0] in ("-h", "-help", "--help", "--h"):
        sys.stdout.write(USAGE)
        return 0
    try:
        if command == "run":
            return run_daemon(args, environ)
        if command == "config":
            return run_config(args, environ, sys.stdout)
        if command == "version":
            sys.stdout.write(version_line() + "\n")
            return 0
        if command == "help":
            if args and args[0] in ("run", "config"):
                sys.stderr.write(RUN_USAGE if args[0] == "run" else CONFIG_USAGE)
                raise Fatal(f"{args[0]}: flag: help requested")
            sys.stdout.write(USAGE)
            return 0
        raise Fatal(f'unknown command "{command}"\nRun \'kapacitord help\' for usage')
    except Fatal as e:
        sys.stderr.write(f"{e}\n")
        return 1


def entry() -> None:
    sys.exit(main())


if __name__ == "__main__":
    entry()
