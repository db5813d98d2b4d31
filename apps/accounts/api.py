"""Auth endpoints of API.md: sign-up, token, me."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts import services
from apps.accounts.throttles import LoginRateThrottle, SignupRateThrottle
from apps.core.schema import error_responses


class UserOutput(serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.EmailField()
    name = serializers.CharField()
    is_staff = serializers.BooleanField()


class SignupApi(APIView):
    # No authentication: a stale session or token must not stand in the way of signing up.
    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [SignupRateThrottle]

    class Input(serializers.Serializer):
        email = serializers.EmailField(max_length=254)
        password = serializers.CharField(max_length=128, trim_whitespace=False)
        name = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")

    class Output(serializers.Serializer):
        user = UserOutput()
        token = serializers.CharField()

    @extend_schema(request=Input, responses={201: Output, **error_responses(400, 429)}, tags=["auth"])
    def post(self, request):
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.signup_user(**data.validated_data)
        token = services.issue_token(user=user)
        return Response(self.Output({"user": user, "token": token.key}).data, status=status.HTTP_201_CREATED)


class TokenApi(APIView):
    throttle_classes = [LoginRateThrottle]

    class Input(serializers.Serializer):
        email = serializers.CharField(max_length=254)
        password = serializers.CharField(max_length=128, trim_whitespace=False)

    class Output(serializers.Serializer):
        token = serializers.CharField()

    def get_permissions(self):
        return [AllowAny()] if self.request.method == "POST" else [IsAuthenticated()]

    @extend_schema(
        request=Input,
        responses={200: Output, **error_responses(400, 401, 429, s401="INVALID_CREDENTIALS: wrong e-mail or password.")},
        tags=["auth"],
    )
    def post(self, request):
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.authenticate_user(request=request, **data.validated_data)
        token = services.issue_token(user=user)
        return Response(self.Output({"token": token.key}).data)

    @extend_schema(request=None, responses={204: OpenApiResponse(description="The token no longer works."), **error_responses(401)}, tags=["auth"])
    def delete(self, request):
        services.revoke_token(user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeApi(APIView):
    @extend_schema(responses={200: UserOutput, **error_responses(401)}, tags=["auth"])
    def get(self, request):
        return Response(UserOutput(request.user).data)
