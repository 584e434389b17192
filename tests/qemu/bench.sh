# tests/qemu/bench.sh: sourced by tests/qemu/init in dpwg.mode=bench.
# Kernel backend timings in the VM (TCG: slow in absolute terms, compare
# the rows with each other): wg-apply (the project's applier: read back,
# diff, send the difference) against wg(8) applying the same sets.
SA=0101010101010101010101010101010101010101010101010101010101010101
wa() {	# wa IFNAME FILE: one wg-apply run, timed from outside too
	ns a $WA time $WA apply -i "$1" -m 10.1.0.0/16 -t 1 -p "$2" -s $SA -f "$3" -b kernel |
		tr '\n' ' '
	echo
}
echo "bench kernel wg-apply 1000-peer set: $(wa wgb1 51900 /peers1000)"
echo "bench kernel wg-apply one-peer change (1001): $(wa wgb1 51900 /peers1001)"
echo "bench kernel wg-apply same set again (no-op): $(wa wgb1 51900 /peers1001)"
ns a $IP link add wgb2 type wireguard
ns a $IP link add wgb3 type wireguard
# up like wg-apply's device, so that the kernel treats the peers alike
ns a $IP link set wgb2 up
ns a $IP link set wgb3 up
sed 's/^ListenPort = 51901/ListenPort = 51902/' /conf1000 >/tmp/conf1000b
echo "bench kernel wg syncconf 1000-peer set: $(ns a $WA time /usr/bin/wg syncconf wgb2 /conf1000)"
cat /conf1000 /conf1 >/tmp/conf1001
echo "bench kernel wg syncconf one-peer change (1001): $(ns a $WA time /usr/bin/wg syncconf wgb2 /tmp/conf1001)"
echo "bench kernel wg syncconf 1000-peer set (wgb3): $(ns a $WA time /usr/bin/wg syncconf wgb3 /tmp/conf1000b)"
key=$(sed -n 's/^PublicKey = //p' /conf1)
aip=$(sed -n 's/^AllowedIPs = //p' /conf1)
ep=$(sed -n 's/^Endpoint = //p' /conf1)
echo "bench kernel wg set one peer: $(ns a $WA time /usr/bin/wg set wgb3 peer "$key" allowed-ips "$aip" endpoint "$ep" persistent-keepalive 25)"
echo "bench kernel peers on devices: wgb1=$(ns a /usr/bin/wg show wgb1 peers | wc -l) wgb2=$(ns a /usr/bin/wg show wgb2 peers | wc -l) wgb3=$(ns a /usr/bin/wg show wgb3 peers | wc -l)"
