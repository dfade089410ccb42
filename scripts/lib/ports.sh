# Loopback port helpers, sourced by scripts/dev.sh and tests/lib/wait-for-stack.sh.

# port_listening <port>: whether something accepts connections on 127.0.0.1:<port>.
port_listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# port_owner <port>: `users:(("name",pid=…))` of whoever listens there, when ss can tell; else nothing.
port_owner() { ss -ltnpH "sport = :$1" 2>/dev/null | grep -o 'users:(.*)' | head -1 || true; }
