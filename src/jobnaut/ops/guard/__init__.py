"""The guard: watches every release after it takes traffic, from the traffic switch's
access log, and rolls a clearly bad one back by itself (ADR 0006).

- settings.py: the `[guard]` section of jobnaut.toml
- traffic.py:  per-release figures from the access log (tailer, rolling windows, Prometheus)
- verdict.py:  the statistical decision, pure functions
- bake.py:     which release is baking against which baseline, and what is compared
- respond.py:  acting on a breach: the rollback, or the recorded reason it was not done
- supervise.py: restarting a serving release's process that died, with backoff
- loop.py:     the `jobnaut guard run` process that ties them together
- process.py:  starting, finding and stopping that process (for `up`, `down`, `status`)
"""
