# -*- coding: utf-8 -*-

# Copyright: (c) 2026, portsec.openstack contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The one base class of portsec.openstack modules.

It merges the shared connection options (named as in openstack.cloud), imports
openstacksdk lazily and opens one connection per task. run() returns the task's
result; __call__ is the only place that calls exit_json() and fail_json(): with
that result, or with the message of a PortsecError or an openstacksdk error.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.portsec.openstack.plugins.module_utils.errors import (
    PortsecError,
)

# Keys of a cloud config dict whose values must never reach the output.
SECRET_KEYS = frozenset((
    'password', 'token', 'secret', 'application_credential_secret',
    'client_secret', 'access_token', 'passcode', 'totp',
))


def openstack_argument_spec():
    """The connection options, identical to openstack.cloud's."""
    return dict(
        cloud=dict(type='raw'),
        auth=dict(type='dict', no_log=True),
        auth_type=dict(type='str'),
        region_name=dict(type='str'),
        validate_certs=dict(type='bool', aliases=['verify']),
        ca_cert=dict(type='str', aliases=['cacert']),
        client_cert=dict(type='str', aliases=['cert']),
        client_key=dict(type='str', no_log=True, aliases=['key']),
        wait=dict(type='bool', default=True),
        timeout=dict(type='int', default=180),
        api_timeout=dict(type='int'),
        interface=dict(type='str', default='public',
                       choices=['public', 'internal', 'admin'],
                       aliases=['endpoint_type']),
        sdk_log_path=dict(type='str'),
        sdk_log_level=dict(type='str', default='INFO', choices=['INFO', 'DEBUG']),
    )


def collect_secrets(value, found=None):
    """Return every secret-looking leaf of a (nested) cloud config dict."""
    found = set() if found is None else found
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, (dict, list)):
                collect_secrets(item, found)
            elif item and str(key).lower() in SECRET_KEYS:
                found.add(str(item))
    elif isinstance(value, list):
        for item in value:
            collect_secrets(item, found)
    return found


class PortsecModule:
    """Base class: subclasses set argument_spec/module_kwargs and write run(),
    which returns the result dict (or raises PortsecError)."""

    argument_spec = {}
    module_kwargs = {}

    def __init__(self):
        spec = openstack_argument_spec()
        spec.update(self.argument_spec)
        self.ansible = AnsibleModule(argument_spec=spec, **self.module_kwargs)
        self.params = self.ansible.params
        self.check_mode = self.ansible.check_mode
        self.diff_mode = self.ansible._diff
        self.warnings = []
        self._conn = None
        self._sdk = None
        # A cloud given as a dict may hold a password: hide it like no_log does.
        for secret in collect_secrets(self.params.get('cloud')):
            self.ansible.no_log_values.add(secret)

    # -- openstacksdk -------------------------------------------------------

    @property
    def sdk(self):
        if self._sdk is None:
            try:
                import openstack
            except ImportError:
                raise PortsecError(
                    missing_required_lib('openstacksdk') + (
                        ' Install it on the host that runs the module, for example'
                        ' "pip install openstacksdk" in the Python that Ansible uses'
                        ' there (ansible_python_interpreter).'),
                    exception=traceback.format_exc())
            self._sdk = openstack
        return self._sdk

    @property
    def conn(self):
        """One openstacksdk connection per task, opened on first use."""
        if self._conn is None:
            self._conn = self._connect()
        return self._conn

    def _connect(self):
        sdk = self.sdk
        params = self.params
        if params['sdk_log_path']:
            sdk.enable_logging(debug=params['sdk_log_level'] == 'DEBUG',
                               path=params['sdk_log_path'])
        cloud = params['cloud']
        if isinstance(cloud, dict):
            for name in ('auth', 'region_name', 'validate_certs', 'ca_cert',
                         'client_key', 'api_timeout', 'auth_type'):
                if params[name] is not None:
                    raise PortsecError(
                        'Option %s cannot be combined with a cloud given as a dict:'
                        ' put it inside the cloud dict instead.' % name)
            if params['interface'] != 'public':
                raise PortsecError(
                    'Option interface cannot be combined with a cloud given as a dict:'
                    ' put it inside the cloud dict instead.')
            return sdk.connect(**cloud)
        if cloud is not None and not isinstance(cloud, str):
            raise PortsecError(
                'Option cloud must be the name of a cloud in clouds.yaml or a dict,'
                ' got %s.' % type(cloud).__name__)
        return sdk.connect(
            cloud=cloud,
            auth_type=params['auth_type'],
            auth=params['auth'],
            region_name=params['region_name'],
            verify=params['validate_certs'],
            cacert=params['ca_cert'],
            cert=params['client_cert'],
            key=params['client_key'],
            api_timeout=params['api_timeout'],
            interface=params['interface'],
        )

    # -- results ------------------------------------------------------------

    def warn(self, message):
        if message not in self.warnings:
            self.warnings.append(message)
            self.ansible.warn(message)

    def describe_error(self, exc):
        """A message for an error on one port of a bulk task, or None for a bug."""
        if isinstance(exc, PortsecError):
            return exc.message
        return self._sdk_error_message(exc)

    def __call__(self):
        """Run the module and exit: the only place that calls exit_json/fail_json."""
        try:
            result = self.run()
        except PortsecError as exc:
            self.ansible.fail_json(msg=exc.message, **exc.result)
        except Exception as exc:  # pylint: disable=broad-except
            sdk_error = self._sdk_error_message(exc)
            if sdk_error is None:
                raise
            self.ansible.fail_json(msg=sdk_error, exception=traceback.format_exc())
        self.ansible.exit_json(**result)

    def _sdk_error_message(self, exc):
        """A readable message for openstacksdk/keystoneauth errors, else None."""
        if self._sdk is None:
            return None
        from openstack import exceptions as sdk_exceptions
        try:
            from keystoneauth1 import exceptions as ksa_exceptions
        except ImportError:  # keystoneauth1 always comes with openstacksdk
            ksa_exceptions = None
        if ksa_exceptions is not None:
            if isinstance(exc, ksa_exceptions.Unauthorized):
                return ('The cloud refused the credentials (401 Unauthorized): check'
                        ' the user name, password and project in the cloud'
                        ' configuration. Keystone said: %s' % exc)
            if isinstance(exc, ksa_exceptions.ConnectFailure):
                return ('Cannot reach the cloud: %s. Check auth_url and the endpoints'
                        ' in the catalog, and that the services are running.' % exc)
            if isinstance(exc, ksa_exceptions.ConnectionError):
                return ('Connection to the cloud failed: %s. Check the network path'
                        ' to the API and retry.' % exc)
            if isinstance(exc, ksa_exceptions.MissingRequiredOptions):
                return ('The cloud configuration is incomplete: %s. Give cloud, auth'
                        ' or OS_* environment variables.' % exc)
            if isinstance(exc, ksa_exceptions.ClientException):
                return 'OpenStack request failed: %s' % exc
        if isinstance(exc, sdk_exceptions.ConfigException):
            return ('The cloud configuration could not be loaded: %s. Check the cloud'
                    ' name and clouds.yaml (OS_CLIENT_CONFIG_FILE).' % exc)
        if isinstance(exc, sdk_exceptions.SDKException):
            return 'OpenStack request failed: %s' % exc
        return None
