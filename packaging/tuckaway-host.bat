@echo off
rem Starts the Tuckaway native host that sits beside this file (for a pip install
rem on Windows where only a script is available; the frozen bundle has a .exe).
rem `tuckaway install` writes its own launcher like this one when it needs to.
"%~dp0tuckaway-host.exe" %*
