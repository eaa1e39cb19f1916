"""Front panel, board-independent: keypad scan, 7-segment font, OLED layout, power policy; imports nothing."""
