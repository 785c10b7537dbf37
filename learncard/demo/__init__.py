"""`learncard demo`: a whole venue in a box on this machine (broker, gateway, LRS, kiosk)."""
