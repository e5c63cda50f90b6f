// The node-fastcgi (npm) baseline: the same hello on a unix socket.
'use strict';
const fs = require('node:fs');
const fcgi = require('node-fastcgi');
const sock = process.argv[2];
try { fs.unlinkSync(sock); } catch { /* none */ }
fcgi.createServer((req, res) => {
  res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': '13' });
  res.end('Hello, World!');
}).listen(sock, () => fs.chmodSync(sock, 0o666));
