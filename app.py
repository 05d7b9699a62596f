"""Plugyard: the API's table of contents."""

from chalicelib.api import (
    admin,
    console,
    dev,
    events,
    installations,
    invocations,
    lifecycle,
    listen,
    live,
    plugins,
    publishing,
    system,
    webhooks,
)
from chalicelib.api.broker_endpoint import learn_broker_url_middleware
from chalicelib.api.chalice_app import ThreadSafeChalice
from chalicelib.api.errors_middleware import problem_middleware
from chalicelib.container import settings
from chalicelib.telemetry import flush_metrics_middleware
from chalicelib.workers import functions as workers
from chalicelib.workers.outbox import handle_outbox_stream

app = ThreadSafeChalice(app_name="plugyard")
app.register_middleware(problem_middleware, "http")
app.register_middleware(flush_metrics_middleware, "all")  # metrics out once per request / batch
app.register_middleware(learn_broker_url_middleware, "http")  # where plugins on Lambda reach the broker
app.register_blueprint(system.bp)
app.register_blueprint(plugins.bp)
app.register_blueprint(installations.bp)
app.register_blueprint(webhooks.bp)
app.register_blueprint(admin.bp)
app.register_blueprint(lifecycle.bp)
app.register_blueprint(publishing.bp)
app.register_blueprint(invocations.bp)
app.register_blueprint(events.bp)
app.register_blueprint(dev.bp)
app.register_blueprint(listen.bp)
app.register_blueprint(live.bp)
app.register_blueprint(console.bp)
# Lambda loads each function as `app.<name>`: every handler chalice packages is a module-level name here.
dispatcher, invoker, deliverer, deployer = workers.register(app, settings())
live_connect, live_message, live_disconnect = live.register(app)  # WebSocket API: live events to clients

# The outbox table's stream -> the bus (infra/app.yaml OutboxForwarder; locally chalicelib.local.streams).
outbox_forwarder = handle_outbox_stream
