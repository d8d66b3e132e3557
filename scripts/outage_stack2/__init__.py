"""The second outage stack of scripts/make_examples_2.py (see that script's docstring).

Modules: venv (the pinned older generation of the software), server (redis-server as an
unprivileged user), stack (supervisord, the private /etc/hosts, logrotate), traffic (HTTP
requests to the two services), outages (how each outage is made and repaired), scenario
(the timeline, expected.json, the copy into examples/). app/ is the code the stack runs.
"""
