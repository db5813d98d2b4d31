"""DevReceivedEvent moved to the development-only app (apps.devtools, devtools_devreceivedevent).

Production never installs that app, so here the table is simply dropped: development receipts have
no place there. Where the app is installed, devtools 0001 copies the rows over before this runs.
"""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('outbox', '0002_dev_received_event'),
    ]

    operations = [
        migrations.DeleteModel(
            name='DevReceivedEvent',
        ),
    ]
