import io
import json

import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_schema_renders_with_the_error_responses(client):
    response = client.get("/api/v1/schema?format=json")
    assert response.status_code == 200
    schema = json.loads(response.content)
    paths = schema["paths"]
    for path in ("/api/v1/auth/signup", "/api/v1/auth/token", "/api/v1/me", "/api/v1/categories", "/api/v1/products",
                 "/api/v1/products/{product_id}", "/api/v1/staff/products", "/api/v1/staff/products/{product_id}",
                 "/api/v1/staff/products/{product_id}/stock"):
        assert path in paths, path
    assert "ErrorResponse" in schema["components"]["schemas"]
    stock = paths["/api/v1/staff/products/{product_id}/stock"]["post"]["responses"]
    assert set(stock) >= {"200", "400", "401", "403", "404", "409"}
    assert stock["409"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorResponse")
    assert "429" in paths["/api/v1/auth/token"]["post"]["responses"]
    assert {"ProductOutput", "SignupApiInput", "TokenApiInput"} <= set(schema["components"]["schemas"])
    product = schema["components"]["schemas"]["ProductOutput"]["properties"]
    assert product["image_url"]["nullable"] is True


@pytest.mark.django_db
def test_schema_default_format_and_swagger_ui(client):
    assert client.get("/api/v1/schema").status_code == 200
    docs = client.get("/api/v1/docs")
    assert docs.status_code == 200
    assert b"swagger" in docs.content.lower()


def test_schema_of_auth_catalog_and_core_has_no_warnings():
    out, err = io.StringIO(), io.StringIO()
    call_command("spectacular", "--validate", "--file", "/dev/null", stdout=out, stderr=err)
    ours = [line for line in err.getvalue().splitlines() if any(app in line for app in ("apps/accounts", "apps/catalog", "apps/core"))]
    assert ours == []
