"""The two ways into an app whose hottest routes are answered before Flask
(web.hot_routes): through the lane, as a server calls the app, and straight to Flask,
what the lane hands on. Used by the tests that hold the lane's answers to Flask's."""

from __future__ import annotations

from werkzeug.test import Client

from web.hot_routes import HotRoutes


class Lanes:
    """`lane` enters through HotRoutes, `flask` straight into Flask; `to_flask` counts
    the requests HotRoutes hands on to Flask."""

    def __init__(self, app) -> None:
        lane = app.wsgi_app
        assert isinstance(lane, HotRoutes)
        self.flask = Client(lane.wsgi_app)
        self.to_flask = 0
        inner = lane.wsgi_app

        def counted(environ, start_response):
            self.to_flask += 1
            return inner(environ, start_response)

        lane.wsgi_app = counted
        self.lane = Client(app)


def answer_of(response) -> tuple:
    """(status, headers in order, body) of a test client's response, closed."""
    answer = (response.status, list(response.headers.items()), response.get_data())
    response.close()
    return answer
