#!/bin/sh
# The floor: a shell hello (Debian's /bin/sh is dash; printf is a builtin).
printf 'Content-Type: text/plain\nContent-Length: 13\n\nHello, World!'
