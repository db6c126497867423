"""The JobNaut web application: server-rendered pages over the backend's JSON API.

It never touches the database; everything it shows comes from the backend over HTTP.
`jobnaut.web.main.create_web_app` is the entry point.
"""
