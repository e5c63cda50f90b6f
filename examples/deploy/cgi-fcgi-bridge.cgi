#!/bin/sh
# A CGI script that hands its request to tsgi's FastCGI listener with libfcgi's cgi-fcgi
# (Debian: libfcgi-bin): for hosts that can run CGI scripts but speak no FastCGI. cgi-fcgi
# sends the whole CGI environment as PARAMS and stdin as STDIN, and prints the CGI response.
# Replace @BACKEND@ with tsgi's --fastcgi address (127.0.0.1:9000 or /run/tsgi/app.sock; a
# socket must be writable by the CGI scripts' user: tsgi --socket-mode 660 or 666).
# Tested by test/fastcgi/cgi-fcgi.test.ts, run by Apache through apache-cgi-fcgi.conf.
exec cgi-fcgi -bind -connect @BACKEND@
