"""The local AWS of the IAM contract harness: ``chalicelib.local.motoserver`` with one moto bug worked around.

``python tests/infra/moto_iam_server.py --port N`` (the source tree on PYTHONPATH).

While moto 5.2.5 enforces IAM it recomputes each request's SigV4 signature itself
(``moto.iam.access_control.IAMRequestBase._create_aws_request``) and builds the request it signs with
``data=self._body or self._data``. A request without a body (every GET and DELETE of a REST-JSON service:
Lambda's ``GetFunctionConfiguration``, ``GetFunction``, ``DeleteFunction``, ``ListFunctions``, an ``Invoke``
without a payload) has an empty ``_body``, and ``_data`` is then the query string's parameters or, with none,
the request's own *headers* (``BaseResponse.setup_class`` fills the dict with them); botocore form-encodes
that dict into a body, so moto hashes a payload that was never sent and answers ``SignatureDoesNotMatch``
(403) to a correctly signed request, from an IAM user and an assumed role alike. AWS signs what was sent: an
empty payload. The fallback to ``_data`` exists for form-encoded POSTs (IAM, STS, SQS's query protocol), whose
body werkzeug has already parsed into the form; only those keep it here.
"""

from __future__ import annotations

from typing import Any


def _sign_what_was_sent() -> None:
    from botocore.awsrequest import AWSRequest
    from moto.iam.access_control import IAMRequestBase

    def create_aws_request(self: Any) -> AWSRequest:
        signed = self._get_string_between("SignedHeaders=", ",", self._headers["Authorization"]).split(";")
        headers = self._create_headers_for_aws_request(signed, self._headers)
        form = "x-www-form-urlencoded" in str(self._headers.get("Content-Type", ""))
        request = AWSRequest(
            method=self._method,
            url=self._path,
            data=self._body or (self._data if form else b""),
            headers=headers,
        )
        request.context["timestamp"] = headers["X-Amz-Date"]
        return request

    IAMRequestBase._create_aws_request = create_aws_request  # type: ignore[method-assign]


if __name__ == "__main__":
    _sign_what_was_sent()
    from chalicelib.local.motoserver import main

    main()
