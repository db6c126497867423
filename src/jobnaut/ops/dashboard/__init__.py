"""The operator dashboard (`jobnaut dashboard`): a loopback web page with time-series
charts per release (request rate, 5xx rate, p95 latency), switch, rollback and alert
markers, and the timeline. Charts are drawn by uPlot 1.6.32 (MIT, from the npm registry,
shipped in static/ with its licence).

- data.py:   the JSON the page polls (figures, markers, timeline), from the ledger and a
             live sampler of the access log
- server.py: the loopback HTTP server
"""
