"""Error envelopes (PROTOCOL.md §8.1).

400 and 429 use the legacy envelope unless the request carries ``X-Error-Format: problem-details``;
401, 403 and 410 are always ``application/problem+json``.
"""

from __future__ import annotations

import json
import secrets
from datetime import datetime
from typing import Any

from starlette.responses import Response

from ksef_tui.sim.clock import iso

UNREADABLE = 21001  # the body cannot be read into the request's types (PROTOCOL §8.2)
VALIDATION = 21405  # a readable request breaks a rule; details are the validator's text

DESCRIPTIONS: dict[int, str] = {
    9101: "Nieprawidłowy dokument.",
    9102: "Brak podpisu.",
    9103: "Przekroczona liczba dozwolonych podpisów.",
    9105: "Nieprawidłowy podpis.",
    21001: "Nieczytelna treść.",
    21111: "Nieprawidłowe wyzwanie autoryzacyjne.",
    21115: "Nieprawidłowy certyfikat.",
    21117: "Nieprawidłowy identyfikator podmiotu dla wskazanego typu kontekstu.",
    21155: "Przekroczono dozwoloną liczbę faktur w sesji.",
    21157: "Nieprawidłowy rozmiar części pakietu.",
    21161: "Przekroczono dozwoloną liczbę części pakietu.",
    21164: "Faktura o podanym identyfikatorze nie istnieje.",
    21165: "Faktura o podanym numerze KSeF nie jest jeszcze dostępna.",
    21166: "Korekta techniczna niedostępna.",
    21167: "Status faktury nie pozwala na korektę techniczną.",
    21173: "Brak sesji o wskazanym numerze referencyjnym.",
    21175: "Wynik zapytania o podanym identyfikatorze nie istnieje.",
    21178: "Nie znaleziono UPO dla podanych kryteriów.",
    21180: "Status sesji nie pozwala na wykonanie operacji.",
    21181: "Nieprawidłowe żądanie eksportu faktur.",
    21182: "Osiągnięto limit trwających eksportów.",
    21183: "Zakres filtrowania wykracza poza dostępny zakres danych.",
    21205: "Pakiet nie może być pusty.",
    21208: "Czas oczekiwania na requesty upload lub finish został przekroczony.",
    21217: "Nieprawidłowe kodowanie znaków.",
    21301: "Brak autoryzacji.",
    21304: "Brak uwierzytelnienia.",
    21401: "Dokument nie jest zgodny ze schemą (xsd).",
    21402: "Nieprawidłowy rozmiar pliku.",
    21403: "Nieprawidłowy skrót pliku.",
    21405: "Błąd walidacji danych wejściowych.",
    21418: "Przekazany token kontynuacji ma nieprawidłowy format.",
    21470: "Przesłany identyfikator klucza jest nieznany lub wskazuje na wycofany klucz.",
    25001: "Brak możliwości pobrania danych do CSR dla wykorzystanego sposobu uwierzytelnienia.",
    25002: "Brak możliwości złożenia wniosku certyfikacyjnego dla wykorzystanego sposobu uwierzytelnienia.",
    25003: "Dane w CSR nie zgadzają się z danymi w użytym wektorze uwierzytelniającym.",
    25004: "Niepoprawny format CSR lub niepoprawny podpis CSR.",
    25005: "Wniosek certyfikacyjny o podanym numerze referencyjnym nie istnieje.",
    25006: "Osiągnięto limit możliwych do złożenia wniosków certyfikacyjnych.",
    25007: "Osiągnięto limit dopuszczalnej liczby posiadanych certyfikatów.",
    25008: "Certyfikat o podanym numerze seryjnym nie istnieje.",
    25009: "Nie można odwołać wskazanego certyfikatu, ponieważ jest już odwołany, zablokowany lub nieważny.",
    25010: "Nieprawidłowy typ lub długość klucza.",
    25011: "Nieprawidłowy algorytm podpisu CSR.",
    26001: "Nie można nadać tokenowi uprawnień których nie posiadasz.",
    26002: "Nie można wygenerować tokena dla obecnego typu kontekstu.",
    30001: "Podmiot lub uprawnienie już istnieje.",
}


class ApiError(Exception):
    """A 400 with one exception code (and its details)."""

    def __init__(self, code: int, *details: str, description: str | None = None) -> None:
        self.code = code
        self.description = description or DESCRIPTIONS.get(code, "Błąd.")
        self.details = list(details)
        super().__init__(f"{code}: {self.description} {self.details}")


class HttpProblem(Exception):
    """401/403/410 (always problem+json) and other non-400 answers."""

    def __init__(self, status: int, detail: str, **extra: Any) -> None:
        self.status = status
        self.detail = detail
        self.extra = extra
        super().__init__(f"{status}: {detail}")


def unauthorized() -> HttpProblem:
    return HttpProblem(401, "Wymagane jest uwierzytelnienie.")


def forbidden_missing(required: list[str], present: list[str]) -> HttpProblem:
    return HttpProblem(
        403,
        "Brak wymaganych uprawnień do wykonania operacji.",
        reasonCode="missing-permissions",
        security={"requiredAnyOfPermissions": required, "presentPermissions": present},
    )


def gone() -> HttpProblem:
    return HttpProblem(410, "Operacja wygasła i nie jest już dostępna.")


TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    410: "Gone",
    415: "Unsupported Media Type",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


def trace_id() -> str:
    return secrets.token_hex(16)


JSON = "application/json"
PROBLEM_JSON = "application/problem+json"


def json_response(
    body: Any, status: int = 200, media_type: str = JSON, headers: dict[str, str] | None = None
) -> Response:
    """UTF-8 JSON, saying so (``; charset=utf-8``) as ASP.NET Core does."""
    return Response(
        json.dumps(body, ensure_ascii=False).encode("utf-8"),
        status_code=status,
        media_type=f"{media_type}; charset=utf-8",
        headers=headers,
    )


def render_api_error(err: ApiError, *, problem: bool, path: str, now: datetime) -> Response:
    tid = trace_id()
    if problem:
        body: dict[str, Any] = {
            "title": TITLES[400],
            "status": 400,
            "instance": path,
            "detail": "Żądanie jest nieprawidłowe.",
            "errors": [{"code": err.code, "description": err.description, "details": err.details}],
            "timestamp": iso(now),
            "traceId": tid,
        }
        return json_response(body, 400, PROBLEM_JSON)
    legacy = {
        "exception": {
            "exceptionDetailList": [
                {"exceptionCode": err.code, "exceptionDescription": err.description, "details": err.details}
            ],
            # Production sends "referenceNumber": null, which the 2.6.1 spec does not allow (the property
            # is a non-nullable ReferenceNumber); leaving it out satisfies both.
            "serviceCode": f"00-{tid}-{secrets.token_hex(8)}-00",
            "serviceCtx": "srvSIMUL",
            "serviceName": "Undefined",
            "timestamp": iso(now),
        }
    }
    return json_response(legacy, 400)


def render_problem(err: HttpProblem, *, path: str, now: datetime) -> Response:
    body: dict[str, Any] = {
        "title": TITLES.get(err.status, "Error"),
        "status": err.status,
        "detail": err.detail,
        "instance": path,
        **err.extra,
        "timestamp": iso(now),
        "traceId": trace_id(),
    }
    return json_response(body, err.status, PROBLEM_JSON)


def render_too_many(message: str, retry_after: int, *, problem: bool, path: str, now: datetime) -> Response:
    headers = {"Retry-After": str(retry_after)}
    if problem:
        body: dict[str, Any] = {
            "title": TITLES[429],
            "status": 429,
            "instance": path,
            "detail": message,
            "timestamp": iso(now),
            "traceId": trace_id(),
        }
        return json_response(body, 429, PROBLEM_JSON, headers)
    return json_response(
        {"status": {"code": 429, "description": "Too Many Requests", "details": [message]}}, 429, headers=headers
    )


def render_server_error(
    status: int, *, now: datetime, details: list[str] | None = None, retry_after: int | None = None
) -> Response:
    """500/503 in the legacy shape seen in production (a 503 of an unavailable KSeF also says why and, with
    ``Retry-After``, when to come back: :mod:`.availability`)."""
    description = "Wystąpił nieoczekiwany błąd." if status == 500 else "Usługa jest chwilowo niedostępna."
    entry: dict[str, Any] = {"exceptionCode": status, "exceptionDescription": description}
    if details:
        entry["details"] = details
    body = {
        "exception": {
            "exceptionDetailList": [entry],
            "serviceCode": f"00-{trace_id()}-{secrets.token_hex(8)}-00",
            "timestamp": iso(now),
        }
    }
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    return json_response(body, status, headers=headers)
