"""The sandbox world: a JSON file that fills the emulators and the portal.

``world.py`` loads it (``manage.py sandbox_load``), ``delivery.py`` builds the
webhook deliveries Meta would send (``manage.py sandbox_send_dm``), and
``demo-world.json`` is the world ``make run`` starts with.
"""
