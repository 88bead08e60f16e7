wrk.method="POST"; wrk.headers["Content-Type"]="application/json"
wrk.body='{"client_id":"bench-native","refresh_token":"rt_0_WAn_dZKCdfVDOkywSmBggQ","grant_type":"refresh_token","audience":"urn:127.0.0.1:session_transfer"}'
