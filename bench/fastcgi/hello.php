<?php
// The PHP-FPM baseline's hello (same 13 bytes as the tsgi app).
header('Content-Type: text/plain');
echo 'Hello, World!';
