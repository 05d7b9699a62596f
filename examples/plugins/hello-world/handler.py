"""Hello World: returns a greeting built from its config and the event."""


def main(event, ctx):
    greeting = ctx.config.get("greeting", "Hello")
    return {"message": f"{greeting}, {event.get('name', 'world')}!"}
