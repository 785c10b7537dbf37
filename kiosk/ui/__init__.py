"""The kiosk touchscreen (Kivy). A separate process that talks to the agent only through its
control socket (docs/control-socket.md): taps are recorded whether or not it runs."""
