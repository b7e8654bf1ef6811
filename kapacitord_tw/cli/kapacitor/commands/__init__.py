"""The CLI's commands; each takes ``(ctx, args)`` and prints or raises."""
