app_name = "wallets"

urlpatterns = []
