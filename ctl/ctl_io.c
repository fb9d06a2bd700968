/*
 * ctl_io.c - REST calls for gsctl through libcurl: one easy handle per call, every call
 * bounded by a timeout, the reply capped at CTL_HTTP_RESPONSE_MAX.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <curl/curl.h>

#include "ctl_io.h"

static size_t on_data(char *data, size_t size, size_t n, void *user)
{
	struct buf *b = user;

	if (b->len + size * n > CTL_HTTP_RESPONSE_MAX || buf_append(b, data, size * n) != 0)
		return 0; /* aborts the transfer: CURLE_WRITE_ERROR */
	return size * n;
}

int ctl_http_call(const struct ctl_http *h, const char *method, const char *url, const char *body,
		  int64_t timeout_ms, int *status, struct buf *resp, char *err, size_t errlen)
{
	CURL *curl = curl_easy_init();
	struct curl_slist *headers = NULL;
	char curl_err[CURL_ERROR_SIZE] = "";
	CURLcode cc;
	long code = 0;
	int rc = 0;

	if (curl == NULL) {
		snprintf(err, errlen, "could not start a HTTP client");
		return -EIO;
	}
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
			 (long)(timeout_ms < 5000 ? timeout_ms : 5000));
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, curl_err);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, resp);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	if (body != NULL) {
		headers = curl_slist_append(headers, "Content-Type: application/json");
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	} else if (strcmp(method, "GET") != 0) {
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, "");
		curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, 0L);
	}
	if (headers != NULL)
		curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	if (h->username[0] != '\0') {
		curl_easy_setopt(curl, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
		curl_easy_setopt(curl, CURLOPT_USERNAME, h->username);
		curl_easy_setopt(curl, CURLOPT_PASSWORD, h->password);
	}
	if (h->insecure) {
		curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (h->cacert[0] != '\0')
		curl_easy_setopt(curl, CURLOPT_CAINFO, h->cacert);
	if (h->certfile[0] != '\0')
		curl_easy_setopt(curl, CURLOPT_SSLCERT, h->certfile);
	if (h->keyfile[0] != '\0')
		curl_easy_setopt(curl, CURLOPT_SSLKEY, h->keyfile);
	if (h->keyfile_password[0] != '\0')
		curl_easy_setopt(curl, CURLOPT_KEYPASSWD, h->keyfile_password);
	cc = curl_easy_perform(curl);
	if (cc == CURLE_OK) {
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
		*status = (int)code;
	} else {
		snprintf(err, errlen, "%s",
			 curl_err[0] != '\0' ? curl_err : curl_easy_strerror(cc));
		rc = cc == CURLE_OPERATION_TIMEDOUT ? -ETIMEDOUT
		     : cc == CURLE_COULDNT_CONNECT || cc == CURLE_COULDNT_RESOLVE_HOST
			     ? -EHOSTUNREACH
			     : -EIO;
	}
	curl_slist_free_all(headers);
	curl_easy_cleanup(curl);
	return rc;
}
