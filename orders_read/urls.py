"""The query API's routes: {route: {method: view}}, merged with the write side's."""

routes: dict = {}
