"""The shared kernel of the apps: background runs, worker queues and task helpers, API plumbing.

Every app may import it; it imports no app and not the Django project (`controlplane`), which
sits above the apps and wires them together.
"""
