#!/usr/bin/env node
// Raw JavaScript CGI with no tsgi at all: node's own start-up floor for a script.
'use strict';
process.stdout.write('Content-Type: text/plain\nContent-Length: 13\n\nHello, World!');
