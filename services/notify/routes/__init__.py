"""The notify API's routes, one module per resource."""

from services.notify.routes import deliveries, subscribers, subscriptions, unsubscribe

ROUTERS = (subscribers.router, subscriptions.router, deliveries.router, unsubscribe.router)
