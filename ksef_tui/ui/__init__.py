"""Textual only: the app, screens, widgets, dialogs. Talks to services, never to the client or the store."""
